// alivpc::error: the one exception type the library throws.
//
// Every failure carries a kind (what a caller should do about it) and a message that names the
// field, value or endpoint involved. Messages never contain secrets: code that builds one from
// user input must pass it through redact() or leave the secret out.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace alivpc {

enum class error_kind {
  invalid_argument,  // bad input from a user, a config or a flag
  parse,             // malformed bytes from a peer (etcd, cloud API, kernel, file)
  not_found,         // the thing asked for does not exist
  conflict,          // someone else holds it, or a concurrent write is in progress
  exhausted,         // no room left: out of subnets, quota exceeded
  transient,         // try again later: timeouts, 5xx, throttling, connection resets
  permanent,         // will not succeed by retrying: auth, permissions
  io,                // local system call failure
  cancelled,         // the operation was stopped by its owner
};

constexpr std::string_view to_string(error_kind k) {
  switch (k) {
    case error_kind::invalid_argument:
      return "invalid argument";
    case error_kind::parse:
      return "parse error";
    case error_kind::not_found:
      return "not found";
    case error_kind::conflict:
      return "conflict";
    case error_kind::exhausted:
      return "exhausted";
    case error_kind::transient:
      return "transient";
    case error_kind::permanent:
      return "permanent";
    case error_kind::io:
      return "I/O error";
    case error_kind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

class error : public std::runtime_error {
 public:
  error(error_kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  error_kind kind() const noexcept { return kind_; }
  bool retryable() const noexcept { return kind_ == error_kind::transient; }

 private:
  error_kind kind_;
};

[[noreturn]] inline void fail(error_kind kind, const std::string& message) {
  throw error(kind, message);
}

}  // namespace alivpc
