// An error answer of the Alibaba Cloud API, as the model raises it and the emulator sends it:
// HTTP status + Code + Message. classify() maps a code to what a client should do about it.
#pragma once

#include <alivpc/error.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace alivpc::sim {

struct api_error {
  int http_status = 400;
  std::string code;
  std::string message;
};

// Thrown by the model; the emulator turns it into {"RequestId","HostId","Code","Message"}.
class api_failure : public std::runtime_error {
 public:
  explicit api_failure(api_error e)
      : std::runtime_error(e.code + ": " + e.message), err_(std::move(e)) {}
  api_failure(int status, std::string code, std::string message)
      : api_failure(api_error{status, std::move(code), std::move(message)}) {}
  const api_error& error() const noexcept { return err_; }
  const std::string& code() const noexcept { return err_.code; }

 private:
  api_error err_;
};

// What a client does with a code (aliyun-api.md section 2).
inline error_kind classify(std::string_view code) {
  for (std::string_view c : {"Throttling", "Throttling.User", "Throttling.Api",
                             "ServiceUnavailable", "InternalError", "SystemBusy", "UnknownError"})
    if (code == c) return error_kind::transient;
  for (std::string_view c :
       {"TaskConflict", "OperationConflict", "IncorrectRouteEntryStatus",
        "IncorrcetRouteEntryStatus", "IncorrectStatus.RouteTableStatus", "IncorrectVpcStatus",
        "LastTokenProcessing", "OperationFailed.DistibuteLock"})
    if (code == c) return error_kind::conflict;
  for (std::string_view c : {"InvalidCIDRBlock.Duplicate", "InvalidRouteEntry.Duplicate",
                             "RouterEntryConflict.Duplicated"})
    if (code == c) return error_kind::conflict;
  if (code == "QuotaExceeded") return error_kind::exhausted;
  if (code.ends_with(".NotFound") && code != "InvalidAccessKeyId.NotFound")
    return error_kind::not_found;
  return error_kind::permanent;
}

inline bool is_duplicate_code(std::string_view code) {
  return code == "InvalidCIDRBlock.Duplicate" || code == "InvalidRouteEntry.Duplicate" ||
         code == "RouterEntryConflict.Duplicated";
}

}  // namespace alivpc::sim
