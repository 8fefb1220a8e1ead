// A string that must never be printed: access key secrets and STS tokens.
//
// Streaming or formatting a secret gives "<redacted>"; only reveal() gives the bytes (for the
// signer). The bytes are wiped when the value is destroyed or overwritten.
#pragma once

#include <openssl/crypto.h>

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#if __has_include(<format>)
#include <format>
#endif

namespace alivpc::cloud {

class secret {
 public:
  static constexpr std::string_view redacted = "<redacted>";

  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  secret(const secret&) = default;
  secret(secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  secret& operator=(const secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  secret& operator=(secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~secret() { wipe(); }

  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  friend bool operator==(const secret& a, const secret& b) { return a.value_ == b.value_; }

  friend std::ostream& operator<<(std::ostream& os, const secret&) { return os << redacted; }

 private:
  // resize() to the capacity zero-fills what lies past the size (bytes a moved-from short string
  // may still hold), then the whole buffer is cleansed.
  void wipe() noexcept {
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }
  std::string value_;
};

// to_string(s) == "<redacted>", for code that builds messages by concatenation.
inline std::string to_string(const secret&) {
  return std::string(secret::redacted);
}

}  // namespace alivpc::cloud

#if defined(__cpp_lib_format)
template <>
struct std::formatter<alivpc::cloud::secret> : std::formatter<std::string_view> {
  auto format(const alivpc::cloud::secret&, std::format_context& ctx) const {
    return std::formatter<std::string_view>::format(alivpc::cloud::secret::redacted, ctx);
  }
};
#endif
