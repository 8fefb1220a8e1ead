// A subnet lease as flannel stores it: key "<prefix>/subnets/10.24.5.0-24", value
// {"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null}.
#pragma once

#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/lease/backend_data.hpp>
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::lease {

// What a node publishes about itself in its lease value.
struct lease_attrs {
  net::ipv4_address public_ip;
  std::optional<std::string> public_ipv6{};
  std::string backend_type = "ali-vpc";
  lease::backend_data backend_data{};
  friend bool operator==(const lease_attrs&, const lease_attrs&) = default;
};

struct lease {
  net::ipv4_cidr subnet;
  std::optional<std::string> ipv6_subnet;  // the "&<ip6>-<len6>" half of a dual-stack key, as text
  lease_attrs attrs;
  // Absent for a reservation (a key without TTL/lease): it never expires and is never taken.
  std::optional<wall_time> expiration;
  std::int64_t revision = 0;  // etcd v3 mod_revision, or v2 modifiedIndex
  std::int64_t lease_id = 0;  // etcd v3 lease id; 0 for v2 and reservations
  // Identity of this claim of the key: v3 create_revision, v2 createdIndex. An event or listing
  // with another create_revision is another claim (a deletion and re-creation happened between).
  std::int64_t create_revision = 0;
  bool is_reservation() const noexcept { return !expiration.has_value(); }
  friend bool operator==(const lease&, const lease&) = default;
};

enum class lease_event_type { added, removed };

struct lease_event {
  lease_event_type type;
  lease value;  // for removed: at least the subnet
};

// "10.24.5.0/24" <-> "10.24.5.0-24" (flannel's key for an IPv4-only lease).
inline std::string subnet_key(const net::ipv4_cidr& c) {
  return c.network().to_string() + "-" + std::to_string(c.prefix_length());
}

struct parsed_subnet_key {
  net::ipv4_cidr subnet;
  std::optional<std::string> ipv6_subnet;
};

// Parses the last path segment of a subnet key; accepts flannel's dual-stack form "a-b&c-d".
inline parsed_subnet_key parse_subnet_key(std::string_view key) {
  auto bad = [&](const std::string& why) -> parsed_subnet_key {
    fail(error_kind::parse,
         "subnet key \"" + std::string(key) + "\": " + why + " (expected e.g. 10.24.5.0-24)");
  };
  parsed_subnet_key out;
  auto amp = key.find('&');
  std::string_view v4 = key.substr(0, amp);
  if (amp != std::string_view::npos) out.ipv6_subnet = std::string(key.substr(amp + 1));
  auto dash = v4.rfind('-');
  if (dash == std::string_view::npos) return bad("no '-' between address and prefix length");
  std::string cidr_text = std::string(v4.substr(0, dash)) + "/" + std::string(v4.substr(dash + 1));
  auto c = net::ipv4_cidr::try_parse(cidr_text);
  if (!c) return bad("not an IPv4 network and prefix length");
  out.subnet = *c;
  return out;
}

// The instance a lease's node runs on, which we record in BackendData as {"InstanceId": "i-..."}
// (flannel keeps BackendData opaque); empty for leases written by flannel or by older versions.
inline std::string lease_instance_id(const lease_attrs& a) {
  return std::string(a.backend_data.instance_id());
}

// Whether a lease found in the store was written by this node: the same PublicIP and, when both
// record an instance, the same instance (two instances that share a PublicIP are not one node).
inline bool same_owner(const lease_attrs& stored, const lease_attrs& ours) {
  if (stored.public_ip != ours.public_ip) return false;
  auto a = stored.backend_data.instance_id(), b = ours.backend_data.instance_id();
  return a.empty() || b.empty() || a == b;
}

// Field order as flannel's Go encoder writes it (struct order), so the value is byte-identical.
inline std::string format_lease_value(const lease_attrs& a) {
  std::string out = "{\"PublicIP\":" + nlohmann::json(a.public_ip.to_string()).dump();
  out += ",\"PublicIPv6\":" +
         (a.public_ipv6 ? nlohmann::json(*a.public_ipv6).dump() : std::string("null"));
  out += ",\"BackendType\":" + nlohmann::json(a.backend_type).dump();
  out += ",\"BackendData\":" + a.backend_data.dump() + "}";
  return out;
}

inline lease_attrs parse_lease_value(std::string_view text) {
  // BackendData is copied as given: bound its depth so that the copy cannot overflow the stack.
  auto j = alivpc::detail::parse_json_bounded(text, error_kind::parse, "lease value");
  auto bad = [&](const std::string& why) -> lease_attrs {
    fail(error_kind::parse, "lease value: " + why + ": " + std::string(text.substr(0, 200)));
  };
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad("expected a JSON object");
  lease_attrs a;
  auto ip = j.find("PublicIP");
  if (ip == j.end() || !ip->is_string()) return bad("PublicIP missing or not a string");
  auto addr = net::ipv4_address::try_parse(ip->get<std::string>());
  if (!addr) return bad("PublicIP is not an IPv4 address");
  a.public_ip = *addr;
  if (auto v6 = j.find("PublicIPv6"); v6 != j.end() && !v6->is_null()) {
    if (!v6->is_string()) return bad("PublicIPv6 is not a string");
    a.public_ipv6 = v6->get<std::string>();
  }
  if (auto bt = j.find("BackendType"); bt != j.end() && !bt->is_null()) {
    if (!bt->is_string()) return bad("BackendType is not a string");
    a.backend_type = bt->get<std::string>();
  } else {
    a.backend_type.clear();
  }
  if (auto bd = j.find("BackendData"); bd != j.end()) a.backend_data = std::move(*bd);
  return a;
}

}  // namespace alivpc::lease
