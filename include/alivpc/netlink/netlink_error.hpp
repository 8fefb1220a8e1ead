// netlink::netlink_error: an alivpc::error that also carries the kernel's errno as a
// std::error_code, so callers can test for EEXIST / ESRCH without parsing messages.
// Both the real rtnetlink host and the simulator's fake host throw it.
#pragma once

#include <alivpc/error.hpp>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

namespace alivpc::netlink {

// The short symbolic name of the errnos rtnetlink returns most, for messages like "(EEXIST)".
inline std::string_view errno_name(int e) {
  switch (e) {
    case EEXIST:
      return "EEXIST";
    case ESRCH:
      return "ESRCH";
    case ENOENT:
      return "ENOENT";
    case ENODEV:
      return "ENODEV";
    case EINVAL:
      return "EINVAL";
    case EPERM:
      return "EPERM";
    case EACCES:
      return "EACCES";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ENOBUFS:
      return "ENOBUFS";
    case EAGAIN:
      return "EAGAIN";
    case EBUSY:
      return "EBUSY";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case ENOMEM:
      return "ENOMEM";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    default:
      return "";
  }
}

// What a caller should do about each errno (see alivpc::error_kind).
inline error_kind error_kind_for(int e) {
  switch (e) {
    case EEXIST:
      return error_kind::conflict;
    case ESRCH:
    case ENOENT:
    case ENODEV:
    case ENETUNREACH:
    case EHOSTUNREACH:
      return error_kind::not_found;
    case EINVAL:
    case ERANGE:
    case EOPNOTSUPP:
      return error_kind::invalid_argument;
    case EPERM:
    case EACCES:
      return error_kind::permanent;
    case EAGAIN:
    case EBUSY:
    case ENOBUFS:
    case EINTR:
    case ETIMEDOUT:
      return error_kind::transient;
    default:
      return error_kind::io;
  }
}

class netlink_error : public error {
 public:
  // operation: what was attempted, e.g. "add route 10.0.0.0/24 via 192.168.1.1 table 254".
  // kernel_detail: the extended-ack text the kernel sent, if any.
  netlink_error(std::error_code code, std::string_view operation,
                std::string_view kernel_detail = {})
      : error(error_kind_for(code.value()), describe(code, operation, kernel_detail)),
        code_(code) {}

  static netlink_error from_errno(int e, std::string_view operation, std::string_view detail = {}) {
    return netlink_error(std::error_code(e, std::system_category()), operation, detail);
  }

  const std::error_code& code() const noexcept { return code_; }

 private:
  static std::string describe(std::error_code code, std::string_view operation,
                              std::string_view detail) {
    std::string m = "netlink: " + std::string(operation) + " failed: " + code.message();
    if (auto name = errno_name(code.value()); !name.empty()) m += " (" + std::string(name) + ")";
    if (!detail.empty()) m += ": " + std::string(detail);
    return m;
  }
  std::error_code code_;
};

}  // namespace alivpc::netlink
