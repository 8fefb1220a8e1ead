// IPv4 addresses and CIDR blocks: parsing with precise errors, formatting, set relations and
// iteration over the subnets of a block.
#pragma once

#include <alivpc/error.hpp>

#include <compare>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <optional>
#include <string>
#include <string_view>

namespace alivpc::net {

class ipv4_address {
 public:
  constexpr ipv4_address() = default;
  constexpr explicit ipv4_address(std::uint32_t host_order) : value_(host_order) {}

  // Dotted quad only ("10.0.0.1"): no leading zeros (ambiguous octal), no spaces, 4 parts.
  static std::optional<ipv4_address> try_parse(std::string_view text) noexcept {
    std::uint32_t result = 0;
    std::size_t pos = 0;
    for (int part = 0; part < 4; ++part) {
      if (part > 0) {
        if (pos >= text.size() || text[pos] != '.') return std::nullopt;
        ++pos;
      }
      std::size_t start = pos;
      std::uint32_t octet = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
        octet = octet * 10 + static_cast<std::uint32_t>(text[pos] - '0');
        ++pos;
      }
      std::size_t digits = pos - start;
      if (digits == 0 || octet > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
      result = (result << 8) | octet;
    }
    if (pos != text.size()) return std::nullopt;
    return ipv4_address(result);
  }

  static ipv4_address parse(std::string_view text) {
    if (auto a = try_parse(text)) return *a;
    fail(error_kind::invalid_argument,
         "\"" + std::string(text) +
             "\": not an IPv4 address (expected a dotted quad like 10.0.0.1)");
  }

  constexpr std::uint32_t value() const noexcept { return value_; }

  std::string to_string() const {
    std::string out;
    for (int shift = 24; shift >= 0; shift -= 8) {
      out += std::to_string((value_ >> shift) & 0xffu);
      if (shift) out += '.';
    }
    return out;
  }

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the 0 of a defaulted <=>.
  friend constexpr auto operator<=>(ipv4_address, ipv4_address) = default;

 private:
  std::uint32_t value_ = 0;
};

constexpr std::uint32_t prefix_mask(int prefix) noexcept {
  return prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix);
}

struct cidr_parse_options {
  bool allow_host_bits = false;  // "10.24.5.1/24" -> 10.24.5.0/24 instead of an error
};

// A block "address/prefix", always held as a network address. parse() refuses host bits
// unless asked (FLANNEL_SUBNET=10.24.5.1/24 is read with allow_host_bits).
class ipv4_cidr {
 public:
  constexpr ipv4_cidr() = default;
  // Masks host bits away: the result is always a network address.
  constexpr ipv4_cidr(ipv4_address addr, int prefix)
      : addr_(addr.value() & prefix_mask(prefix)), prefix_(prefix) {}

  static ipv4_cidr parse(std::string_view text, cidr_parse_options opts = {}) {
    const auto [result, fault] = read(text, opts);
    if (fault == cidr_fault::none) return result;
    const auto quoted = "\"" + std::string(text) + "\"";
    const auto slash = text.find('/');
    switch (fault) {
      case cidr_fault::no_slash:
        fail(error_kind::invalid_argument, quoted + ": expected a CIDR block like 10.24.0.0/16");
      case cidr_fault::address:
        fail(error_kind::invalid_argument,
             quoted + ": \"" + std::string(text.substr(0, slash)) + "\" is not an IPv4 address");
      case cidr_fault::prefix:
        fail(error_kind::invalid_argument, quoted + ": prefix length must be 0..32");
      case cidr_fault::host_bits:
      case cidr_fault::none:
        break;
    }
    fail(error_kind::invalid_argument,
         quoted + ": host bits are set (did you mean " + result.to_string() + "?)");
  }

  static std::optional<ipv4_cidr> try_parse(std::string_view text,
                                            cidr_parse_options opts = {}) noexcept {
    const auto [result, fault] = read(text, opts);
    if (fault != cidr_fault::none) return std::nullopt;
    return result;
  }

  constexpr ipv4_address network() const noexcept { return ipv4_address(addr_); }
  constexpr int prefix_length() const noexcept { return prefix_; }
  constexpr std::uint32_t mask() const noexcept { return prefix_mask(prefix_); }
  constexpr ipv4_address broadcast() const noexcept { return ipv4_address(addr_ | ~mask()); }
  // Number of addresses; 2^32 for /0 does not fit in 32 bits.
  constexpr std::uint64_t size() const noexcept { return std::uint64_t{1} << (32 - prefix_); }
  constexpr std::uint64_t first() const noexcept { return addr_; }
  constexpr std::uint64_t end() const noexcept { return std::uint64_t{addr_} + size(); }

  constexpr bool contains(ipv4_address a) const noexcept { return (a.value() & mask()) == addr_; }
  constexpr bool contains(const ipv4_cidr& other) const noexcept {
    return other.prefix_ >= prefix_ && contains(other.network());
  }
  constexpr bool overlaps(const ipv4_cidr& other) const noexcept {
    return contains(other.network()) || other.contains(network());
  }

  // The block that follows this one with the same prefix (wraps at 2^32, like flannel's Next()).
  constexpr ipv4_cidr next() const noexcept {
    return ipv4_cidr(ipv4_address(static_cast<std::uint32_t>(end())), prefix_);
  }

  // Number of subnets of `length` inside this block (0 when length < prefix or > 32).
  constexpr std::uint64_t subnet_count(int length) const noexcept {
    if (length < prefix_ || length > 32) return 0;
    return std::uint64_t{1} << (length - prefix_);
  }
  // The index-th subnet of `length` (index < subnet_count(length)).
  constexpr ipv4_cidr subnet(int length, std::uint64_t index) const noexcept {
    return ipv4_cidr(ipv4_address(static_cast<std::uint32_t>(addr_ + (index << (32 - length)))),
                     length);
  }
  // Calls fn(subnet) for each subnet of `length` in order; fn may return false to stop.
  template <class Fn>
  void for_each_subnet(int length, Fn&& fn) const {
    std::uint64_t n = subnet_count(length);
    for (std::uint64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<std::invoke_result_t<Fn&, ipv4_cidr>, bool>) {
        if (!fn(subnet(length, i))) return;
      } else {
        fn(subnet(length, i));
      }
    }
  }

  std::string to_string() const { return network().to_string() + "/" + std::to_string(prefix_); }

  friend constexpr bool operator==(const ipv4_cidr&, const ipv4_cidr&) = default;
  friend constexpr auto operator<=>(const ipv4_cidr& a, const ipv4_cidr& b) {
    if (auto c = a.addr_ <=> b.addr_; std::is_neq(c)) return c;
    return a.prefix_ <=> b.prefix_;
  }

 private:
  // What parse() found wrong, if anything; messages are built only then (a listing parses one
  // CIDR per route entry, and try_parse() must not allocate or throw for a good one).
  enum class cidr_fault { none, no_slash, address, prefix, host_bits };
  static std::pair<ipv4_cidr, cidr_fault> read(std::string_view text,
                                               cidr_parse_options opts) noexcept {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return {{}, cidr_fault::no_slash};
    const auto addr = ipv4_address::try_parse(text.substr(0, slash));
    if (!addr) return {{}, cidr_fault::address};
    const auto len_text = text.substr(slash + 1);
    int prefix = 0;
    bool digits_ok =
        !len_text.empty() && len_text.size() <= 2 && !(len_text.size() > 1 && len_text[0] == '0');
    for (char c : len_text) {
      // Stop at the third character too: a long digit run would overflow `prefix`.
      if (!digits_ok || c < '0' || c > '9') {
        digits_ok = false;
        break;
      }
      prefix = prefix * 10 + (c - '0');
    }
    if (!digits_ok || prefix > 32) return {{}, cidr_fault::prefix};
    ipv4_cidr result(*addr, prefix);
    if (!opts.allow_host_bits && result.addr_ != addr->value())
      return {result, cidr_fault::host_bits};
    return {result, cidr_fault::none};
  }

  std::uint32_t addr_ = 0;
  int prefix_ = 0;
};

}  // namespace alivpc::net

template <>
struct std::hash<alivpc::net::ipv4_cidr> {
  std::size_t operator()(const alivpc::net::ipv4_cidr& c) const noexcept {
    return std::hash<std::uint64_t>{}((std::uint64_t{c.network().value()} << 8) |
                                      static_cast<std::uint64_t>(c.prefix_length()));
  }
};
