// An error answer of the Alibaba Cloud API, as the model raises it and the emulator sends it:
// HTTP status + Code + Message. What a client does about a code is the client's business
// (cloud/api_error.hpp classifies it, once, for the daemon and the simulator alike).
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

}  // namespace alivpc::sim
