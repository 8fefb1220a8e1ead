// Building rtnetlink requests and decoding the kernel's link, address, route, error and done
// messages into the host_network types. Pure: no sockets here, so the decoders can be fuzzed.
#pragma once

#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/netlink/detail/attributes.hpp>
#include <alivpc/netlink/host_network.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace alivpc::netlink {

using detail::byte_span;

// ---- building ----------------------------------------------------------------------------

// Appends a netlink header, a family header and attributes, keeping 4-byte alignment.
class message_builder {
 public:
  message_builder(std::uint16_t type, std::uint16_t flags) : bytes_(sizeof(nlmsghdr), 0) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    std::memcpy(bytes_.data(), &h, sizeof h);
  }

  template <class T>
  message_builder& family_header(const T& header) {
    append(&header, sizeof header);
    return *this;
  }

  message_builder& attribute(std::uint16_t type, const void* data, std::size_t length) {
    nlattr a{};
    a.nla_len = static_cast<std::uint16_t>(sizeof(nlattr) + length);
    a.nla_type = type;
    append(&a, sizeof a);
    append(data, length);
    return *this;
  }

  message_builder& attribute_u32(std::uint16_t type, std::uint32_t value) {
    return attribute(type, &value, sizeof value);
  }

  message_builder& attribute_ipv4(std::uint16_t type, net::ipv4_address address) {
    std::uint32_t v = address.value();
    std::uint8_t bytes[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    return attribute(type, bytes, sizeof bytes);
  }

  // Fixes the total length and sequence number; the builder can be reused afterwards.
  std::vector<std::uint8_t> finish(std::uint32_t sequence) const {
    auto out = bytes_;
    nlmsghdr h;
    std::memcpy(&h, out.data(), sizeof h);
    h.nlmsg_len = static_cast<std::uint32_t>(out.size());
    h.nlmsg_seq = sequence;
    std::memcpy(out.data(), &h, sizeof h);
    return out;
  }

 private:
  void append(const void* data, std::size_t length) {
    auto p = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + length);
    bytes_.resize(detail::align4(bytes_.size()), 0);
  }
  std::vector<std::uint8_t> bytes_;
};

inline message_builder link_dump_request() {
  message_builder b(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  ifinfomsg m{};
  m.ifi_family = AF_UNSPEC;
  b.family_header(m);
  return b;
}

inline message_builder address_dump_request() {
  message_builder b(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  ifaddrmsg m{};
  m.ifa_family = AF_INET;
  b.family_header(m);
  return b;
}

inline message_builder route_dump_request() {
  message_builder b(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
  rtmsg m{};
  m.rtm_family = AF_INET;
  b.family_header(m);
  return b;
}

// RTM_GETROUTE for one destination: the kernel answers with the route it would use.
inline message_builder route_lookup_request(net::ipv4_address destination) {
  message_builder b(RTM_GETROUTE, NLM_F_REQUEST);
  rtmsg m{};
  m.rtm_family = AF_INET;
  m.rtm_dst_len = 32;
  m.rtm_flags = RTM_F_LOOKUP_TABLE;  // report the table the route came from, not "main"
  b.family_header(m);
  b.attribute_ipv4(RTA_DST, destination);
  return b;
}

enum class route_change { add, replace, remove };

inline std::string_view to_string(route_change c) {
  switch (c) {
    case route_change::add:
      return "add";
    case route_change::replace:
      return "replace";
    case route_change::remove:
      return "delete";
  }
  return "?";
}

inline std::string_view to_string(route_type t) {
  switch (t) {
    case route_type::unicast:
      return "unicast";
    case route_type::local:
      return "local";
    case route_type::broadcast:
      return "broadcast";
    case route_type::blackhole:
      return "blackhole";
    case route_type::unreachable:
      return "unreachable";
    case route_type::prohibit:
      return "prohibit";
  }
  return "other";
}

// "10.1.0.0/24 via 192.168.0.1 dev #3 table 254" / "blackhole 10.2.0.0/16 table 254"
inline std::string to_string(const route_info& r) {
  std::string s;
  if (r.type != route_type::unicast) s += std::string(to_string(r.type)) + " ";
  s += r.destination.network().to_string() + "/" + std::to_string(r.destination.prefix_length());
  if (r.gateway) s += " via " + r.gateway->to_string();
  if (r.output_link_index != 0) s += " dev #" + std::to_string(r.output_link_index);
  s += " table " + std::to_string(r.table);
  return s;
}

// RTM_NEWROUTE (add: create+exclusive, replace: create+replace) or RTM_DELROUTE, with an ack.
inline message_builder route_change_request(route_change change, const route_info& r) {
  std::uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  if (change == route_change::add) flags |= NLM_F_CREATE | NLM_F_EXCL;
  if (change == route_change::replace) flags |= NLM_F_CREATE | NLM_F_REPLACE;
  message_builder b(change == route_change::remove ? RTM_DELROUTE : RTM_NEWROUTE, flags);
  rtmsg m{};
  m.rtm_family = AF_INET;
  m.rtm_dst_len = static_cast<std::uint8_t>(r.destination.prefix_length());
  m.rtm_table = static_cast<std::uint8_t>(r.table < 256 ? r.table : RT_TABLE_UNSPEC);
  m.rtm_type = static_cast<std::uint8_t>(r.type);
  if (change == route_change::remove) {
    // As iproute2 does: scope "nowhere" and protocol 0 match any route with this key.
    m.rtm_scope = RT_SCOPE_NOWHERE;
    m.rtm_protocol = 0;
  } else {
    m.rtm_scope = r.scope;
    m.rtm_protocol = RTPROT_BOOT;
  }
  b.family_header(m);
  b.attribute_u32(RTA_TABLE, r.table);
  if (r.destination.prefix_length() > 0) b.attribute_ipv4(RTA_DST, r.destination.network());
  if (r.gateway) b.attribute_ipv4(RTA_GATEWAY, *r.gateway);
  if (r.output_link_index > 0)
    b.attribute_u32(RTA_OIF, static_cast<std::uint32_t>(r.output_link_index));
  if (r.preferred_source) b.attribute_ipv4(RTA_PREFSRC, *r.preferred_source);
  return b;
}

// ---- decoding ----------------------------------------------------------------------------

inline link_info parse_link(byte_span payload) {
  auto m = detail::read_struct<ifinfomsg>(payload, "ifinfomsg");
  link_info link;
  link.index = m.ifi_index;
  link.flags = m.ifi_flags;
  for (const auto& a : detail::attributes_after<ifinfomsg>(payload, "ifinfomsg")) {
    if (a.type == IFLA_IFNAME) link.name = detail::attribute_string(a, "IFLA_IFNAME");
    if (a.type == IFLA_MTU) link.mtu = detail::attribute_u32(a, "IFLA_MTU");
  }
  return link;
}

// nullopt for non-IPv4 addresses.
inline std::optional<address_info> parse_address(byte_span payload) {
  auto m = detail::read_struct<ifaddrmsg>(payload, "ifaddrmsg");
  if (m.ifa_family != AF_INET) return std::nullopt;
  if (m.ifa_prefixlen > 32)
    fail(error_kind::parse,
         "netlink: IPv4 address prefix length " + std::to_string(m.ifa_prefixlen) + " is over 32");
  address_info out;
  out.link_index = static_cast<int>(m.ifa_index);
  out.prefix_length = m.ifa_prefixlen;
  std::optional<net::ipv4_address> local, address;
  for (const auto& a : detail::attributes_after<ifaddrmsg>(payload, "ifaddrmsg")) {
    if (a.type == IFA_LOCAL) local = detail::attribute_ipv4(a, "IFA_LOCAL");
    if (a.type == IFA_ADDRESS) address = detail::attribute_ipv4(a, "IFA_ADDRESS");
  }
  // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is always our own address.
  if (local) {
    out.address = *local;
  } else if (address) {
    out.address = *address;
  } else {
    fail(error_kind::parse, "netlink: IPv4 address message for link " +
                                std::to_string(out.link_index) + " has no IFA_LOCAL/IFA_ADDRESS");
  }
  return out;
}

// nullopt for non-IPv4 routes. Multipath routes keep output_link_index 0.
inline std::optional<route_info> parse_route(byte_span payload) {
  auto m = detail::read_struct<rtmsg>(payload, "rtmsg");
  if (m.rtm_family != AF_INET) return std::nullopt;
  if (m.rtm_dst_len > 32)
    fail(error_kind::parse,
         "netlink: IPv4 route prefix length " + std::to_string(m.rtm_dst_len) + " is over 32");
  route_info r;
  r.table = m.rtm_table;
  r.scope = m.rtm_scope;
  r.type = static_cast<route_type>(m.rtm_type);
  net::ipv4_address dst;
  for (const auto& a : detail::attributes_after<rtmsg>(payload, "rtmsg")) {
    switch (a.type) {
      case RTA_DST:
        dst = detail::attribute_ipv4(a, "RTA_DST");
        break;
      case RTA_GATEWAY:
        r.gateway = detail::attribute_ipv4(a, "RTA_GATEWAY");
        break;
      case RTA_OIF:
        r.output_link_index = static_cast<int>(detail::attribute_u32(a, "RTA_OIF"));
        break;
      case RTA_TABLE:
        r.table = detail::attribute_u32(a, "RTA_TABLE");
        break;
      case RTA_PREFSRC:
        r.preferred_source = detail::attribute_ipv4(a, "RTA_PREFSRC");
        break;
      default:
        break;
    }
  }
  r.destination = net::ipv4_cidr(dst, m.rtm_dst_len);
  return r;
}

// NLMSG_ERROR: error 0 is an ack; otherwise a negative errno plus, with NETLINK_EXT_ACK, the
// kernel's own explanation ("Nexthop has invalid gateway").
struct kernel_ack {
  int error = 0;  // positive errno, 0 for success
  std::string detail;
  std::uint32_t sequence = 0;  // of the request being answered
};

inline kernel_ack parse_error_message(byte_span payload, std::uint16_t flags) {
  auto e = detail::read_struct<nlmsgerr>(payload, "nlmsgerr");
  if (e.error > 0 || e.error < -4095)
    fail(error_kind::parse,
         "netlink: NLMSG_ERROR carries invalid error " + std::to_string(e.error));
  kernel_ack ack;
  ack.error = -e.error;
  ack.sequence = e.msg.nlmsg_seq;
  if (!(flags & NLM_F_ACK_TLVS)) return ack;
  // The TLVs follow the echoed request: only its header when capped, else all of it.
  std::size_t tlv_offset = sizeof(nlmsgerr);
  if (!(flags & NLM_F_CAPPED)) {
    if (e.msg.nlmsg_len < sizeof(nlmsghdr))
      detail::fail_parse("echoed request in NLMSG_ERROR", sizeof(int), e.msg.nlmsg_len,
                         sizeof(nlmsghdr));
    tlv_offset = sizeof(int) + detail::align4(e.msg.nlmsg_len);
  }
  if (tlv_offset > payload.size())
    detail::fail_parse("NLMSG_ERROR extended ack", 0, payload.size(), tlv_offset);
  for (const auto& a : detail::split_attributes(payload.subspan(tlv_offset)))
    if (a.type == NLMSGERR_ATTR_MSG) ack.detail = detail::attribute_string(a, "NLMSGERR_ATTR_MSG");
  return ack;
}

// NLMSG_DONE may carry a negative errno when a dump failed part way.
inline int parse_done_message(byte_span payload) {
  if (payload.size() < sizeof(int)) return 0;
  int e = detail::read_struct<int>(payload, "NLMSG_DONE");
  if (e > 0 || e < -4095)
    fail(error_kind::parse, "netlink: NLMSG_DONE carries invalid error " + std::to_string(e));
  return -e;
}

struct done_marker {
  int error = 0;
  friend bool operator==(const done_marker&, const done_marker&) = default;
};
struct link_removed {
  link_info link;
};
struct address_removed {
  address_info address;
};
struct route_removed {
  route_info route;
};
struct ignored_message {
  std::uint16_t type = 0;
};

// One decoded message: what a dump, an ack or a change notification can contain.
// (RTM_NEWLINK also reports changes to an existing link, hence link_info, not "link added".)
using decoded_message = std::variant<done_marker, kernel_ack, link_info, link_removed, address_info,
                                     address_removed, route_info, route_removed, ignored_message>;

inline decoded_message decode_message(const detail::raw_message& m) {
  switch (m.type) {
    case NLMSG_DONE:
      return done_marker{parse_done_message(m.payload)};
    case NLMSG_ERROR:
      return parse_error_message(m.payload, m.flags);
    case RTM_NEWLINK:
      return parse_link(m.payload);
    case RTM_DELLINK:
      return link_removed{parse_link(m.payload)};
    case RTM_NEWADDR:
      if (auto a = parse_address(m.payload)) return *a;
      return ignored_message{m.type};
    case RTM_DELADDR:
      if (auto a = parse_address(m.payload)) return address_removed{*a};
      return ignored_message{m.type};
    case RTM_NEWROUTE:
      if (auto r = parse_route(m.payload)) return *r;
      return ignored_message{m.type};
    case RTM_DELROUTE:
      if (auto r = parse_route(m.payload)) return route_removed{*r};
      return ignored_message{m.type};
    default:
      return ignored_message{m.type};
  }
}

// Splits and decodes a whole datagram; throws alivpc::error(parse) on any malformed length.
inline std::vector<decoded_message> decode_datagram(byte_span datagram) {
  std::vector<decoded_message> out;
  for (const auto& m : detail::split_messages(datagram))
    out.push_back(decode_message(m));
  return out;
}

}  // namespace alivpc::netlink
