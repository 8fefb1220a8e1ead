// Length-checked splitting of netlink datagrams into messages and of message payloads into
// attributes. Pure functions over byte spans: every length is checked before it is used, and
// malformed input throws alivpc::error(parse) naming the offset and the lengths involved. Nothing
// here touches a socket, so it can be fuzzed directly.
#pragma once

#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <linux/netlink.h>

namespace alivpc::netlink::detail {

using byte_span = std::span<const std::uint8_t>;

constexpr std::size_t align4(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

[[noreturn]] inline void fail_parse(std::string_view what, std::size_t offset, std::size_t have,
                                    std::size_t need) {
  fail(error_kind::parse, "netlink: malformed " + std::string(what) + " at byte " +
                              std::to_string(offset) + ": " + std::to_string(have) +
                              " bytes available, " + std::to_string(need) + " needed");
}

// Copies a fixed-size struct out of (possibly unaligned) bytes; the span must be long enough.
template <class T>
T read_struct(byte_span bytes, std::string_view what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (bytes.size() < sizeof(T)) fail_parse(what, 0, bytes.size(), sizeof(T));
  T out;
  std::memcpy(&out, bytes.data(), sizeof(T));
  return out;
}

struct raw_message {
  std::uint16_t type = 0;
  std::uint16_t flags = 0;
  std::uint32_t sequence = 0;
  std::uint32_t port = 0;  // sender's port id: 0 for the kernel
  byte_span payload;       // bytes after the header, nlmsg_len - header
};

// One datagram may carry several messages, each padded to 4 bytes (the last may be unpadded).
inline std::vector<raw_message> split_messages(byte_span datagram) {
  std::vector<raw_message> out;
  std::size_t offset = 0;
  while (offset < datagram.size()) {
    auto rest = datagram.subspan(offset);
    auto header = read_struct<nlmsghdr>(rest, "netlink message header");
    if (header.nlmsg_len < sizeof(nlmsghdr))
      fail_parse("netlink message length field", offset, header.nlmsg_len, sizeof(nlmsghdr));
    if (header.nlmsg_len > rest.size())
      fail_parse("netlink message (truncated)", offset, rest.size(), header.nlmsg_len);
    raw_message m;
    m.type = header.nlmsg_type;
    m.flags = header.nlmsg_flags;
    m.sequence = header.nlmsg_seq;
    m.port = header.nlmsg_pid;
    m.payload = rest.subspan(sizeof(nlmsghdr), header.nlmsg_len - sizeof(nlmsghdr));
    out.push_back(m);
    offset += align4(header.nlmsg_len);
  }
  return out;
}

struct raw_attribute {
  std::uint16_t type = 0;  // NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off
  byte_span payload;
};

// Splits a region of rtattr/nlattr records (same layout: u16 length, u16 type, payload).
inline std::vector<raw_attribute> split_attributes(byte_span region) {
  std::vector<raw_attribute> out;
  std::size_t offset = 0;
  while (offset < region.size()) {
    auto rest = region.subspan(offset);
    auto header = read_struct<nlattr>(rest, "netlink attribute header");
    if (header.nla_len < sizeof(nlattr))
      fail_parse("netlink attribute length field", offset, header.nla_len, sizeof(nlattr));
    if (header.nla_len > rest.size())
      fail_parse("netlink attribute (truncated)", offset, rest.size(), header.nla_len);
    out.push_back({static_cast<std::uint16_t>(header.nla_type & NLA_TYPE_MASK),
                   rest.subspan(sizeof(nlattr), header.nla_len - sizeof(nlattr))});
    offset += align4(header.nla_len);
  }
  return out;
}

// The attributes that follow a fixed family header (ifinfomsg, ifaddrmsg, rtmsg) in a payload.
template <class FamilyHeader>
std::vector<raw_attribute> attributes_after(byte_span payload, std::string_view what) {
  if (payload.size() < sizeof(FamilyHeader))
    fail_parse(what, 0, payload.size(), sizeof(FamilyHeader));
  auto start = align4(sizeof(FamilyHeader));
  if (start >= payload.size()) return {};
  return split_attributes(payload.subspan(start));
}

inline std::uint32_t attribute_u32(const raw_attribute& a, std::string_view what) {
  if (a.payload.size() != sizeof(std::uint32_t))
    fail_parse(what, 0, a.payload.size(), sizeof(std::uint32_t));
  return read_struct<std::uint32_t>(a.payload, what);
}

inline std::uint8_t attribute_u8(const raw_attribute& a, std::string_view what) {
  if (a.payload.size() != 1) fail_parse(what, 0, a.payload.size(), 1);
  return a.payload[0];
}

// IPv4 addresses travel in network byte order.
inline net::ipv4_address attribute_ipv4(const raw_attribute& a, std::string_view what) {
  if (a.payload.size() != 4) fail_parse(what, 0, a.payload.size(), 4);
  auto p = a.payload;
  return net::ipv4_address((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]});
}

// Strings are NUL-terminated; the terminator is required so a truncated name is not accepted.
inline std::string attribute_string(const raw_attribute& a, std::string_view what) {
  auto p = a.payload;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] == 0) return std::string(reinterpret_cast<const char*>(p.data()), i);
  fail(error_kind::parse, "netlink: " + std::string(what) + " is not NUL-terminated (" +
                              std::to_string(p.size()) + " bytes)");
}

}  // namespace alivpc::netlink::detail
