// flannel's network config (the JSON at <etcd-prefix>/config): parsing, flannel's defaults and
// flannel's validation, with errors that name the field. Unknown Backend keys are kept for the
// backend; unknown top-level keys are kept too, so a round trip loses nothing.
#pragma once

#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <string>

namespace alivpc::config {

struct backend_config {
  std::string type;                                    // Backend.Type, e.g. "ali-vpc"
  nlohmann::json settings = nlohmann::json::object();  // every other Backend key, as given
};

struct network_config {
  bool enable_ipv4 = true;
  bool enable_ipv6 = false;
  std::optional<net::ipv4_cidr> network;  // required when enable_ipv4
  int subnet_len = 0;                     // after defaults: the lease prefix length
  net::ipv4_address subnet_min;           // after defaults: first usable subnet address
  net::ipv4_address subnet_max;           // after defaults: last usable subnet address
  // IPv6 fields are kept as text (validated as addresses/blocks); ali-vpc routes IPv4 only.
  std::optional<std::string> ipv6_network;
  int ipv6_subnet_len = 0;
  std::optional<std::string> ipv6_subnet_min;
  std::optional<std::string> ipv6_subnet_max;
  backend_config backend;
  nlohmann::json extra = nlohmann::json::object();  // unknown top-level keys

  friend bool operator==(const network_config& a, const network_config& b) {
    return a.enable_ipv4 == b.enable_ipv4 && a.enable_ipv6 == b.enable_ipv6 &&
           a.network == b.network && a.subnet_len == b.subnet_len && a.subnet_min == b.subnet_min &&
           a.subnet_max == b.subnet_max && a.ipv6_network == b.ipv6_network &&
           a.ipv6_subnet_len == b.ipv6_subnet_len && a.ipv6_subnet_min == b.ipv6_subnet_min &&
           a.ipv6_subnet_max == b.ipv6_subnet_max && a.backend.type == b.backend.type &&
           a.backend.settings == b.backend.settings && a.extra == b.extra;
  }

  // The block of leases: Network cut into SubnetLen pieces.
  net::ipv4_cidr subnet_at(net::ipv4_address a) const { return net::ipv4_cidr(a, subnet_len); }
};

namespace detail {

inline std::string json_type_name(const nlohmann::json& j) {
  return j.type_name();
}

// A wrong value as shown in an error: scalars as they are (a number, true/false, a short string:
// what a user needs to spot a typo), objects, arrays and long strings by their type only, since
// the config may hold AccessKeySecret and a misplaced one must not reach a log.
inline std::string shown_value(const nlohmann::json& j) {
  if (j.is_number() || j.is_boolean() || j.is_null()) return j.dump();
  // AccessKey secrets are 30 characters and ids 24: a short string is a typo, not a key.
  if (j.is_string() && j.get_ref<const std::string&>().size() <= 12) return j.dump();
  return std::string("a") + (j.is_object() ? "n " : " ") + j.type_name();
}

[[noreturn]] inline void config_error(const std::string& field, const std::string& what) {
  fail(error_kind::invalid_argument, "network config: " + field + ": " + what);
}

inline bool read_bool(const nlohmann::json& j, const char* field, bool fallback) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    config_error(field, std::string("expected true or false, got ") + shown_value(*it));
  return it->get<bool>();
}

inline int read_prefix_len(const nlohmann::json& j, const char* field, int max) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > max)
    config_error(field, "expected an integer prefix length 0.." + std::to_string(max) + ", got " +
                            shown_value(*it));
  return it->get<int>();
}

inline std::optional<std::string> read_string(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) config_error(field, "expected a string, got " + shown_value(*it));
  return it->get<std::string>();
}

inline bool is_ipv6_address(const std::string& s) {
  unsigned char buf[16];
  // inet_pton stops at a NUL: "fd00::\u0000junk" would pass as fd00::.
  return s.find('\0') == std::string::npos && inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

inline void check_ipv6_cidr(const std::string& field, const std::string& s) {
  auto slash = s.find('/');
  bool ok = slash != std::string::npos && is_ipv6_address(s.substr(0, slash));
  if (ok) {
    auto len = s.substr(slash + 1);
    ok = !len.empty() && len.size() <= 3 &&
         len.find_first_not_of("0123456789") == std::string::npos && std::stoi(len) <= 128;
  }
  if (!ok) config_error(field, "\"" + s + "\" is not an IPv6 CIDR block (expected e.g. fd00::/56)");
}

// Where nlohmann's parser gives up on `text`, without quoting any of it (its exception
// message does quote the last token read, which may be a secret).
inline std::string describe_syntax_error(std::string_view text) {
  struct locate : nlohmann::json_sax<nlohmann::json> {
    std::size_t position = 0;
    std::string last_key;
    bool failed = false;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t& k) override {
      // Only names we know: a misplaced value can parse as a key ({"AccessKeySecret", "..."}).
      static const char* known[] = {
          "Network",    "SubnetLen",   "SubnetMin",     "SubnetMax",      "EnableIPv4",
          "EnableIPv6", "IPv6Network", "IPv6SubnetLen", "IPv6SubnetMin",  "IPv6SubnetMax",
          "Backend",    "Type",        "AccessKeyID",   "AccessKeySecret"};
      last_key.clear();
      for (const char* n : known)
        if (k == n) last_key = k;
      return true;
    }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t pos, const std::string&,
                     const nlohmann::detail::exception&) override {
      position = pos;
      failed = true;
      return false;
    }
  } sax;
  nlohmann::json::sax_parse(text, &sax, nlohmann::json::input_format_t::json, false);
  if (!sax.failed) return "unexpected content";
  // nlohmann counts the byte it stopped on from 1; an error at the very end is "past the end".
  std::size_t offset = sax.position == 0 ? 0 : sax.position - 1;
  if (offset > text.size()) offset = text.size();
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  std::string out = offset >= text.size() ? "the text ends too early (" : "syntax error at ";
  out += "line " + std::to_string(line) + ", column " + std::to_string(column) + ", byte " +
         std::to_string(offset);
  if (offset >= text.size()) out += ")";
  if (!sax.last_key.empty()) out += ", after the key \"" + sax.last_key + "\"";
  return out;
}

}  // namespace detail

// Parses and validates like flannel's ParseConfig + CheckNetworkConfig, applying its defaults:
// SubnetLen 24 when Network is /22 or larger, else Network's prefix + 2; SubnetMin the second
// subnet, SubnetMax the last one. Flannel accepts a Network with host bits set and masks them;
// we do the same so that every config flannel takes, we take.
inline network_config parse_network_config_json(const nlohmann::json& j) {
  using detail::config_error;
  if (!j.is_object())
    fail(error_kind::invalid_argument,
         "network config: expected a JSON object like {\"Network\":\"10.24.0.0/16\",\"Backend\":"
         "{\"Type\":\"ali-vpc\"}}, got " +
             detail::shown_value(j));
  network_config c;
  c.enable_ipv4 = detail::read_bool(j, "EnableIPv4", true);
  c.enable_ipv6 = detail::read_bool(j, "EnableIPv6", false);

  if (auto n = detail::read_string(j, "Network")) {
    auto parsed = net::ipv4_cidr::try_parse(*n, {.allow_host_bits = true});
    if (!parsed)
      config_error("Network",
                   "\"" + *n + "\" is not an IPv4 CIDR block (expected e.g. 10.24.0.0/16)");
    c.network = *parsed;
  }
  c.subnet_len = detail::read_prefix_len(j, "SubnetLen", 32);
  std::optional<net::ipv4_address> min, max;
  if (auto s = detail::read_string(j, "SubnetMin")) {
    min = net::ipv4_address::try_parse(*s);
    if (!min) config_error("SubnetMin", "\"" + *s + "\" is not an IPv4 address");
  }
  if (auto s = detail::read_string(j, "SubnetMax")) {
    max = net::ipv4_address::try_parse(*s);
    if (!max) config_error("SubnetMax", "\"" + *s + "\" is not an IPv4 address");
  }

  c.ipv6_network = detail::read_string(j, "IPv6Network");
  c.ipv6_subnet_len = detail::read_prefix_len(j, "IPv6SubnetLen", 128);
  c.ipv6_subnet_min = detail::read_string(j, "IPv6SubnetMin");
  c.ipv6_subnet_max = detail::read_string(j, "IPv6SubnetMax");
  if (c.ipv6_network) detail::check_ipv6_cidr("IPv6Network", *c.ipv6_network);
  for (auto [field, value] : {std::pair{"IPv6SubnetMin", &c.ipv6_subnet_min},
                              std::pair{"IPv6SubnetMax", &c.ipv6_subnet_max}}) {
    if (*value && !detail::is_ipv6_address(**value))
      config_error(field, "\"" + **value + "\" is not an IPv6 address");
  }

  auto backend = j.find("Backend");
  if (backend != j.end() && !backend->is_null()) {
    if (!backend->is_object())
      config_error("Backend", "expected an object like {\"Type\":\"ali-vpc\"}, got " +
                                  detail::shown_value(*backend));
    for (auto& [key, value] : backend->items()) {
      if (key == "Type") {
        if (!value.is_string())
          config_error("Backend.Type", "expected a string, got " + detail::shown_value(value));
        c.backend.type = value.get<std::string>();
      } else {
        c.backend.settings[key] = value;
      }
    }
  }
  if (c.backend.type.empty()) c.backend.type = "udp";  // flannel's default backend type

  static const char* known[] = {"EnableIPv4",    "EnableIPv6",    "Network",     "SubnetLen",
                                "SubnetMin",     "SubnetMax",     "IPv6Network", "IPv6SubnetLen",
                                "IPv6SubnetMin", "IPv6SubnetMax", "Backend"};
  for (auto& [key, value] : j.items()) {
    if (std::find(std::begin(known), std::end(known), key) == std::end(known)) c.extra[key] = value;
  }

  if (!c.enable_ipv4 && !c.enable_ipv6)
    config_error("EnableIPv4", "both EnableIPv4 and EnableIPv6 are false: nothing to route");

  if (c.enable_ipv4) {
    if (!c.network)
      config_error("Network",
                   "missing: set it to an IPv4 CIDR block, e.g. \"Network\":\"10.24.0.0/16\"");
    const int plen = c.network->prefix_length();
    if (c.subnet_len > 0) {
      if (c.subnet_len > 30)
        config_error("SubnetLen",
                     std::to_string(c.subnet_len) + " is too long: must be 30 or less");
      if (c.subnet_len < plen + 2)
        config_error("SubnetLen", std::to_string(c.subnet_len) + " is too short for Network " +
                                      c.network->to_string() + ": must be at least " +
                                      std::to_string(plen + 2) + " (room for four subnets)");
    } else if (plen > 28) {
      config_error("Network",
                   c.network->to_string() + " is too small: the prefix must be /28 or shorter");
    } else {
      c.subnet_len = plen <= 22 ? 24 : plen + 2;
    }
    const std::uint32_t size = std::uint32_t{1} << (32 - c.subnet_len);
    const std::uint32_t mask = net::prefix_mask(c.subnet_len);
    c.subnet_min = min ? *min : net::ipv4_address(c.network->network().value() + size);
    c.subnet_max = max ? *max : net::ipv4_address(c.network->broadcast().value() - size + 1);
    if (min && !c.network->contains(*min))
      config_error("SubnetMin",
                   min->to_string() + " is not inside Network " + c.network->to_string());
    if (max && !c.network->contains(*max))
      config_error("SubnetMax",
                   max->to_string() + " is not inside Network " + c.network->to_string());
    if ((c.subnet_min.value() & mask) != c.subnet_min.value())
      config_error("SubnetMin", c.subnet_min.to_string() + " is not on a /" +
                                    std::to_string(c.subnet_len) + " boundary");
    if ((c.subnet_max.value() & mask) != c.subnet_max.value())
      config_error("SubnetMax", c.subnet_max.to_string() + " is not on a /" +
                                    std::to_string(c.subnet_len) + " boundary");
    if (c.subnet_min > c.subnet_max)
      config_error("SubnetMin",
                   c.subnet_min.to_string() + " is above SubnetMax " + c.subnet_max.to_string());
  }
  if (c.enable_ipv6 && !c.ipv6_network)
    config_error("IPv6Network", "missing while EnableIPv6 is true");
  // The VPC refuses route destinations in 100.64.0.0/10 (its reserved shared address space):
  // every CreateRouteEntry would fail after the lease is taken. Refuse it here, at start.
  static constexpr auto vpc_reserved =
      net::ipv4_cidr(net::ipv4_address(100u << 24 | 64u << 16), 10);
  if (c.enable_ipv4 && c.backend.type == "ali-vpc" && c.network->overlaps(vpc_reserved))
    config_error("Network", c.network->to_string() + " overlaps " + vpc_reserved.to_string() +
                                ", which Alibaba Cloud VPC reserves: route entries there are "
                                "refused; choose another block, e.g. 10.24.0.0/16");
  return c;
}

inline network_config parse_network_config(std::string_view text) {
  // flannel's config is three levels deep; far deeper JSON would overflow the stack later.
  nlohmann::json j =
      alivpc::detail::parse_json_bounded(text, error_kind::invalid_argument, "network config");
  // The text may hold AccessKeySecret: say where it breaks (line, column, byte, the last key
  // read), never what it says.
  if (j.is_discarded())
    fail(error_kind::invalid_argument,
         "network config: not valid JSON: " + detail::describe_syntax_error(text) +
             " (the text is not shown: it may hold a secret)");
  return parse_network_config_json(j);
}

// The config as JSON with every default made explicit; parse(to_json(c)) == c.
inline nlohmann::json to_json(const network_config& c) {
  nlohmann::json j = c.extra;
  j["EnableIPv4"] = c.enable_ipv4;
  j["EnableIPv6"] = c.enable_ipv6;
  if (c.network) j["Network"] = c.network->to_string();
  if (c.subnet_len) j["SubnetLen"] = c.subnet_len;
  if (c.enable_ipv4) {
    j["SubnetMin"] = c.subnet_min.to_string();
    j["SubnetMax"] = c.subnet_max.to_string();
  }
  if (c.ipv6_network) j["IPv6Network"] = *c.ipv6_network;
  if (c.ipv6_subnet_len) j["IPv6SubnetLen"] = c.ipv6_subnet_len;
  if (c.ipv6_subnet_min) j["IPv6SubnetMin"] = *c.ipv6_subnet_min;
  if (c.ipv6_subnet_max) j["IPv6SubnetMax"] = *c.ipv6_subnet_max;
  nlohmann::json backend = c.backend.settings;
  backend["Type"] = c.backend.type;
  j["Backend"] = backend;
  return j;
}

// What this daemon can run: IPv4 only, Backend.Type "ali-vpc".
inline void require_ali_vpc(const network_config& c) {
  if (c.backend.type != "ali-vpc")
    detail::config_error("Backend.Type", "\"" + c.backend.type +
                                             "\" is not supported by this daemon: it runs the "
                                             "\"ali-vpc\" backend only");
  if (!c.enable_ipv4)
    detail::config_error("EnableIPv4", "must be true: the ali-vpc backend routes IPv4 subnets");
  if (c.enable_ipv6)
    detail::config_error(
        "EnableIPv6",
        "must be false: AliCloud VPC routes for IPv6 pod subnets are not supported "
        "by the ali-vpc backend");
}

}  // namespace alivpc::config
