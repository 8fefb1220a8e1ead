// flanneld_alivpc's command line: flanneld's flags and defaults, plus ours. Every flag can also
// come from the environment as FLANNELD_<FLAG> (upper case, dashes to underscores); the command
// line wins. Parsing is a pure function (it is a fuzz target): bad input is a usage_error that
// names the flag and what was expected.
#pragma once

#include <alivpc/detail/strings.hpp>
#include <alivpc/error.hpp>
#include <alivpc/http/url.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/duration.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace flanneld_alivpc {

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct daemon_flags {
  std::vector<std::string> etcd_endpoints{"http://127.0.0.1:4001", "http://127.0.0.1:2379"};
  std::string etcd_prefix = "/coreos.com/network";
  std::string etcd_keyfile, etcd_certfile, etcd_cafile, etcd_username, etcd_password;
  std::string etcd_api = "auto";  // v3 | v2 | auto
  std::vector<std::string> iface;
  std::vector<std::string> iface_regex;
  std::optional<alivpc::net::ipv4_address> public_ip;
  std::string subnet_file = "/run/flannel/subnet.env";
  bool ip_masq = false;
  std::string healthz_ip = "0.0.0.0";
  std::uint16_t healthz_port = 0;      // 0: off
  int subnet_lease_renew_margin = 60;  // minutes, 1..1439
  std::chrono::seconds lease_ttl = std::chrono::hours(24);
  std::string metadata_endpoint = "http://100.100.100.200";
  std::string vpc_endpoint;  // empty: https://vpc.<region>.aliyuncs.com
  std::string vpc_ca_file;
  bool allow_insecure_http_endpoints = false;  // http:// VPC/metadata endpoints off loopback
  std::string signature_version = "v3";        // v3 | v1
  std::chrono::seconds reconcile_period = std::chrono::minutes(5);
  std::chrono::seconds error_backoff_max = std::chrono::minutes(2);
  std::string strategy = "robust";  // robust | classic
  bool release_on_exit = false;
  std::string next_hop_type = "Instance";  // Instance | NetworkInterface
  std::string next_hop_id;                 // ENI id with NetworkInterface
  std::string log_level = "info";
  std::string log_format = "text";    // text | json
  int route_table_quota = 0;          // custom entries per route table; 0: not known
  std::string route_writer = "self";  // self | leader
  bool leader_candidate = true;
  std::chrono::seconds leader_ttl = std::chrono::seconds(30);
  std::chrono::milliseconds batch_window{1000};
  std::chrono::seconds stale_route_grace{0};  // 0: two reconcile periods
  bool collect_dry_run = false;
  bool help = false;
  bool version = false;
};

struct flag_spec {
  const char* name;
  const char* value_name;  // nullptr: boolean
  const char* help;
  std::function<void(daemon_flags&, const std::string&)> set;
  std::function<std::string(const daemon_flags&)> show;
};

namespace detail {

inline std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v)
    out += (out.empty() ? "" : ",") + s;
  return out;
}

inline bool parse_bool(const std::string& flag, const std::string& v) {
  if (v == "true" || v == "1" || v == "t" || v == "TRUE" || v == "True") return true;
  if (v == "false" || v == "0" || v == "f" || v == "FALSE" || v == "False") return false;
  throw usage_error("--" + flag + ": \"" + v + "\" is not a boolean (expected true or false)");
}

inline long long parse_int(const std::string& flag, const std::string& v, long long lo,
                           long long hi) {
  bool ok = !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
  long long n = ok ? std::stoll(v) : 0;
  if (!ok || n < lo || n > hi)
    throw usage_error("--" + flag + ": \"" + v + "\" is not a whole number in " +
                      std::to_string(lo) + ".." + std::to_string(hi));
  return n;
}

// Go-style durations as flanneld takes them (time.ParseDuration): "90s", "5m", "1h30m",
// "1.5h", "500ms". A bare number other than "0" is refused, as Go does: "5" could mean seconds
// or minutes, and a wrong guess is silent.
inline std::chrono::milliseconds parse_duration(const std::string& flag, const std::string& v) {
  if (auto d = alivpc::parse_go_duration(v, std::chrono::hours(24 * 3650))) return *d;
  if (!v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos)
    throw usage_error("--" + flag + ": \"" + v + "\" has no unit (expected e.g. " + v + "s or " +
                      v + "m)");
  throw usage_error("--" + flag + ": \"" + v +
                    "\" is not a duration (expected e.g. 30s, 5m, 1h, 1.5h)");
}

// An endpoint URL flag: scheme http/https, port 1..65535 (the message names the flag; the URL
// is shown with any userinfo masked).
inline void check_url(const std::string& flag, const std::string& v) {
  try {
    (void)alivpc::http::url::parse(v);
  } catch (const alivpc::error& e) {
    throw usage_error("--" + flag + ": " + e.what());
  }
}

inline std::string show_duration(std::chrono::seconds s) {
  auto n = s.count();
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

inline std::string one_of(const std::string& flag, const std::string& v,
                          std::initializer_list<const char*> allowed) {
  for (auto a : allowed)
    if (v == a) return v;
  std::string list;
  for (auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string(a);
  throw usage_error("--" + flag + ": \"" + v + "\" is not one of " + list);
}

}  // namespace detail

inline const std::vector<flag_spec>& all_flags() {
  using namespace detail;
  using F = daemon_flags;
  static const std::vector<flag_spec> specs = {
      {"etcd-endpoints", "URLS", "comma-separated etcd endpoints",
       [](F& f, const std::string& v) {
         f.etcd_endpoints = alivpc::detail::split_list(v);
         if (f.etcd_endpoints.empty())
           throw usage_error("--etcd-endpoints: expected at least one URL");
         for (auto& e : f.etcd_endpoints)
           check_url("etcd-endpoints", e);
       },
       [](const F& f) { return join(f.etcd_endpoints); }},
      {"etcd-prefix", "PATH", "etcd prefix of the network config and subnets",
       [](F& f, const std::string& v) {
         if (v.empty() || v[0] != '/')
           throw usage_error("--etcd-prefix: \"" + v + "\" must start with /");
         f.etcd_prefix = v;
         while (f.etcd_prefix.size() > 1 && f.etcd_prefix.back() == '/')
           f.etcd_prefix.pop_back();
       },
       [](const F& f) { return f.etcd_prefix; }},
      {"etcd-keyfile", "FILE", "TLS client key for etcd",
       [](F& f, const std::string& v) { f.etcd_keyfile = v; },
       [](const F& f) { return f.etcd_keyfile; }},
      {"etcd-certfile", "FILE", "TLS client certificate for etcd",
       [](F& f, const std::string& v) { f.etcd_certfile = v; },
       [](const F& f) { return f.etcd_certfile; }},
      {"etcd-cafile", "FILE", "CA bundle that signs etcd's certificate",
       [](F& f, const std::string& v) { f.etcd_cafile = v; },
       [](const F& f) { return f.etcd_cafile; }},
      {"etcd-username", "NAME", "etcd user (basic auth)",
       [](F& f, const std::string& v) { f.etcd_username = v; },
       [](const F& f) { return f.etcd_username; }},
      {"etcd-password", "SECRET", "etcd password (never logged)",
       [](F& f, const std::string& v) { f.etcd_password = v; },
       [](const F& f) {
         return f.etcd_password.empty() ? std::string() : std::string("<redacted>");
       }},
      {"etcd-api", "v3|v2|auto", "etcd API: auto uses v3 when the config is there, else v2",
       [](F& f, const std::string& v) {
         f.etcd_api = one_of("etcd-api", v, {"v3", "v2", "auto"});
       },
       [](const F& f) { return f.etcd_api; }},
      {"iface", "NAME|IP", "interface to use (repeatable; tried in order)",
       [](F& f, const std::string& v) {
         if (v.empty()) throw usage_error("--iface: expected an interface name or IP");
         f.iface.push_back(v);
       },
       [](const F& f) { return join(f.iface); }},
      {"iface-regex", "REGEX", "regex matching interface names or IPs (repeatable)",
       [](F& f, const std::string& v) {
         // std::regex compiles recursively: thousands of nested groups overflow the stack.
         if (v.size() > 1024) throw usage_error("--iface-regex: longer than 1024 characters");
         // libstdc++ reads the numbers of \N and {n,m} into a long without an overflow check.
         std::size_t digits = 0;
         for (char c : v) {
           digits = c >= '0' && c <= '9' ? digits + 1 : 0;
           if (digits > 9)
             throw usage_error("--iface-regex: \"" + v + "\" has a number of more than 9 digits");
         }
         try {
           std::regex r(v);
         } catch (const std::regex_error& e) {
           throw usage_error("--iface-regex: \"" + v + "\" is not a valid regular expression");
         }
         f.iface_regex.push_back(v);
       },
       [](const F& f) { return join(f.iface_regex); }},
      {"public-ip", "IP", "IP accessible by other nodes (default: the interface's)",
       [](F& f, const std::string& v) {
         f.public_ip = alivpc::net::ipv4_address::try_parse(v);
         if (!f.public_ip) throw usage_error("--public-ip: \"" + v + "\" is not an IPv4 address");
       },
       [](const F& f) { return f.public_ip ? f.public_ip->to_string() : std::string(); }},
      {"subnet-file", "FILE",
       "where to write the subnet environment (read by the flannel CNI plugin)",
       [](F& f, const std::string& v) {
         if (v.empty()) throw usage_error("--subnet-file: expected a path");
         f.subnet_file = v;
       },
       [](const F& f) { return f.subnet_file; }},
      {"ip-masq", nullptr, "set up IP masquerade for traffic leaving the flannel network",
       [](F& f, const std::string& v) { f.ip_masq = parse_bool("ip-masq", v); },
       [](const F& f) { return std::string(f.ip_masq ? "true" : "false"); }},
      {"healthz-ip", "IP", "address of the /healthz and /metrics server",
       [](F& f, const std::string& v) {
         if (!alivpc::net::ipv4_address::try_parse(v))
           throw usage_error("--healthz-ip: \"" + v + "\" is not an IPv4 address");
         f.healthz_ip = v;
       },
       [](const F& f) { return f.healthz_ip; }},
      {"healthz-port", "PORT", "port of /healthz and /metrics (0: off)",
       [](F& f, const std::string& v) {
         f.healthz_port = static_cast<std::uint16_t>(parse_int("healthz-port", v, 0, 65535));
       },
       [](const F& f) { return std::to_string(f.healthz_port); }},
      {"subnet-lease-renew-margin", "MINUTES",
       "renew the lease this many minutes before it expires (1..1439)",
       [](F& f, const std::string& v) {
         f.subnet_lease_renew_margin =
             static_cast<int>(parse_int("subnet-lease-renew-margin", v, 1, 1439));
       },
       [](const F& f) { return std::to_string(f.subnet_lease_renew_margin); }},
      {"subnet-lease-ttl", "DURATION", "TTL of the subnet lease",
       [](F& f, const std::string& v) {
         auto d = parse_duration("subnet-lease-ttl", v);
         if (d < std::chrono::minutes(2))
           throw usage_error("--subnet-lease-ttl: \"" + v + "\" is too short (at least 2m)");
         f.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(d);
       },
       [](const F& f) { return show_duration(f.lease_ttl); }},
      {"metadata-endpoint", "URL", "ECS metadata service",
       [](F& f, const std::string& v) {
         check_url("metadata-endpoint", v);
         f.metadata_endpoint = v;
       },
       [](const F& f) { return f.metadata_endpoint; }},
      {"vpc-endpoint", "URL", "VPC OpenAPI endpoint (default https://vpc.<region>.aliyuncs.com)",
       [](F& f, const std::string& v) {
         check_url("vpc-endpoint", v);
         f.vpc_endpoint = v;
       },
       [](const F& f) { return f.vpc_endpoint; }},
      {"allow-insecure-http-endpoints", nullptr,
       "allow http:// (unencrypted) --vpc-endpoint/--metadata-endpoint off loopback",
       [](F& f, const std::string& v) {
         f.allow_insecure_http_endpoints = parse_bool("allow-insecure-http-endpoints", v);
       },
       [](const F& f) { return std::string(f.allow_insecure_http_endpoints ? "true" : "false"); }},
      {"vpc-ca-file", "FILE", "CA bundle for the VPC endpoint (default: the system store)",
       [](F& f, const std::string& v) { f.vpc_ca_file = v; },
       [](const F& f) { return f.vpc_ca_file; }},
      {"signature-version", "v3|v1", "OpenAPI signature: v3 (ACS3-HMAC-SHA256) or v1 (HMAC-SHA1)",
       [](F& f, const std::string& v) {
         f.signature_version = one_of("signature-version", v, {"v3", "v1"});
       },
       [](const F& f) { return f.signature_version; }},
      {"reconcile-period", "DURATION", "how often routes are checked and repaired",
       [](F& f, const std::string& v) {
         auto d = parse_duration("reconcile-period", v);
         if (d < std::chrono::seconds(1))
           throw usage_error("--reconcile-period: \"" + v + "\" is too short (at least 1s)");
         f.reconcile_period = std::chrono::duration_cast<std::chrono::seconds>(d);
       },
       [](const F& f) { return show_duration(f.reconcile_period); }},
      {"error-backoff-max", "DURATION",
       "longest wait before retrying after an error (quota and permission errors wait this long)",
       [](F& f, const std::string& v) {
         auto d = parse_duration("error-backoff-max", v);
         if (d < std::chrono::seconds(1))
           throw usage_error("--error-backoff-max: \"" + v + "\" is too short (at least 1s)");
         f.error_backoff_max = std::chrono::duration_cast<std::chrono::seconds>(d);
       },
       [](const F& f) { return show_duration(f.error_backoff_max); }},
      {"strategy", "robust|classic",
       "robust, or classic: the original flannel ali-vpc backend step for step",
       [](F& f, const std::string& v) {
         f.strategy = one_of("strategy", v, {"robust", "classic"});
       },
       [](const F& f) { return f.strategy; }},
      {"route-writer", "self|leader",
       "self: each node writes its own route; leader: an elected route leader writes every "
       "node's route in batches and collects stale ones, the others make no cloud call",
       [](F& f, const std::string& v) {
         f.route_writer = one_of("route-writer", v, {"self", "leader"});
       },
       [](const F& f) { return f.route_writer; }},
      {"leader-candidate", nullptr,
       "with --route-writer=leader: campaign for route leader (needs cloud credentials); "
       "false: never lead, no cloud credentials needed",
       [](F& f, const std::string& v) { f.leader_candidate = parse_bool("leader-candidate", v); },
       [](const F& f) { return std::string(f.leader_candidate ? "true" : "false"); }},
      {"leader-ttl", "DURATION",
       "route leader key TTL: a dead leader is replaced within it (5s..10m)",
       [](F& f, const std::string& v) {
         auto d = parse_duration("leader-ttl", v);
         if (d < std::chrono::seconds(5) || d > std::chrono::minutes(10))
           throw usage_error("--leader-ttl: \"" + v + "\" is out of range (5s..10m)");
         f.leader_ttl = std::chrono::duration_cast<std::chrono::seconds>(d);
       },
       [](const F& f) { return show_duration(f.leader_ttl); }},
      {"batch-window", "DURATION",
       "route leader: how long changes are gathered into one batch (0s..1m)",
       [](F& f, const std::string& v) {
         auto d = parse_duration("batch-window", v);
         if (d > std::chrono::minutes(1))
           throw usage_error("--batch-window: \"" + v + "\" is too long (at most 1m)");
         f.batch_window = std::chrono::duration_cast<std::chrono::milliseconds>(d);
       },
       [](const F& f) { return std::to_string(f.batch_window.count()) + "ms"; }},
      {"stale-route-grace", "DURATION",
       "route leader: delete routes in the Network whose subnet has had no lease this long "
       "(0s: two reconcile periods)",
       [](F& f, const std::string& v) {
         f.stale_route_grace = std::chrono::duration_cast<std::chrono::seconds>(
             parse_duration("stale-route-grace", v));
       },
       [](const F& f) { return show_duration(f.stale_route_grace); }},
      {"collect-dry-run", nullptr,
       "route leader: log the stale routes it would delete, delete none",
       [](F& f, const std::string& v) { f.collect_dry_run = parse_bool("collect-dry-run", v); },
       [](const F& f) { return std::string(f.collect_dry_run ? "true" : "false"); }},
      {"release-on-exit", nullptr, "on SIGTERM remove our route and give the lease back",
       [](F& f, const std::string& v) { f.release_on_exit = parse_bool("release-on-exit", v); },
       [](const F& f) { return std::string(f.release_on_exit ? "true" : "false"); }},
      {"next-hop-type", "Instance|NetworkInterface", "next hop of our VPC route",
       [](F& f, const std::string& v) {
         f.next_hop_type = one_of("next-hop-type", v, {"Instance", "NetworkInterface"});
       },
       [](const F& f) { return f.next_hop_type; }},
      {"next-hop-id", "ID", "ENI id when --next-hop-type=NetworkInterface",
       [](F& f, const std::string& v) { f.next_hop_id = v; },
       [](const F& f) { return f.next_hop_id; }},
      {"log-level", "LEVEL", "debug, info, warning or error",
       [](F& f, const std::string& v) {
         f.log_level = one_of("log-level", v, {"debug", "info", "warning", "error"});
       },
       [](const F& f) { return f.log_level; }},
      {"log-format", "text|json", "text, or json: one JSON object per line for log shippers",
       [](F& f, const std::string& v) {
         f.log_format = one_of("log-format", v, {"text", "json"});
       },
       [](const F& f) { return f.log_format; }},
      {"route-table-quota", "N",
       "custom entries a route table may hold (48, 50 or 200 by account; 0: not known), for "
       "/metrics and the quota error",
       [](F& f, const std::string& v) {
         f.route_table_quota = static_cast<int>(parse_int("route-table-quota", v, 0, 100000));
       },
       [](const F& f) {
         return f.route_table_quota ? std::to_string(f.route_table_quota) : std::string();
       }},
      {"help", nullptr, "show this help",
       [](F& f, const std::string& v) { f.help = parse_bool("help", v); },
       [](const F&) { return std::string("false"); }},
      {"version", nullptr, "print the version",
       [](F& f, const std::string& v) { f.version = parse_bool("version", v); },
       [](const F&) { return std::string("false"); }},
  };
  return specs;
}

inline std::string env_name(std::string_view flag) {
  std::string out = "FLANNELD_";
  for (char c : flag)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// args excludes argv[0]; env maps names to values (only FLANNELD_* are read).
inline daemon_flags parse_flags(const std::vector<std::string>& args,
                                const std::map<std::string, std::string>& env) {
  daemon_flags f;
  const auto& specs = all_flags();
  auto find = [&](std::string_view name) -> const flag_spec* {
    for (auto& s : specs)
      if (name == s.name) return &s;
    return nullptr;
  };
  // Repeatable flags from the command line replace, not extend, the environment's.
  for (auto& s : specs) {
    if (auto it = env.find(env_name(s.name)); it != env.end()) {
      if (std::string_view(s.name) == "iface" || std::string_view(s.name) == "iface-regex") {
        for (auto& item : alivpc::detail::split_list(it->second))
          s.set(f, item);
      } else {
        try {
          s.set(f, it->second);
        } catch (const usage_error& e) {
          throw usage_error(std::string(e.what()) + " (from " + it->first + ")");
        }
      }
    }
  }
  bool iface_cleared = false, regex_cleared = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-')
      throw usage_error("unexpected argument \"" + a + "\" (flags start with --)");
    std::string body = a.substr(a[1] == '-' ? 2 : 1);  // Go's flag package accepts -flag too
    std::optional<std::string> value;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    if (body == "h") body = "help";
    const flag_spec* s = find(body);
    if (!s) throw usage_error("unknown flag --" + body + " (see --help)");
    if (!value) {
      if (!s->value_name) {
        value = "true";
      } else {
        if (i + 1 >= args.size())
          throw usage_error("--" + body + " needs a value (" + s->value_name + ")");
        value = args[++i];
      }
    }
    if (body == "iface" && !iface_cleared) {
      f.iface.clear();
      iface_cleared = true;
    }
    if (body == "iface-regex" && !regex_cleared) {
      f.iface_regex.clear();
      regex_cleared = true;
    }
    s->set(f, *value);
  }
  if (f.next_hop_type == "NetworkInterface" && f.next_hop_id.empty())
    throw usage_error("--next-hop-type=NetworkInterface needs --next-hop-id (the ENI id, eni-...)");
  if (!f.etcd_certfile.empty() != !f.etcd_keyfile.empty())
    throw usage_error("--etcd-certfile and --etcd-keyfile go together");
  if (std::chrono::minutes(f.subnet_lease_renew_margin) >= f.lease_ttl)
    throw usage_error(
        "--subnet-lease-renew-margin=" + std::to_string(f.subnet_lease_renew_margin) +
        " (minutes) must be shorter than --subnet-lease-ttl=" + detail::show_duration(f.lease_ttl) +
        ", or the lease would be renewed before it is taken");
  // Signed API calls and the STS credentials from metadata must not cross a network in clear
  // text. Loopback (tests, a local proxy) is fine, and so is the ECS metadata address itself,
  // which only speaks HTTP and is reachable from the instance only.
  for (auto [flag, value] : {std::pair{"vpc-endpoint", &f.vpc_endpoint},
                             std::pair{"metadata-endpoint", &f.metadata_endpoint}}) {
    if (value->empty() || f.allow_insecure_http_endpoints) continue;
    auto u = alivpc::http::url::parse(*value);
    if (u.is_tls() || u.is_loopback()) continue;
    if (std::string_view(flag) == "metadata-endpoint" && u.host == "100.100.100.200") continue;
    throw usage_error("--" + std::string(flag) + ": \"" + alivpc::http::url::redact(*value) +
                      "\" is plain http:// to a host that is not loopback: use https://, or "
                      "pass --allow-insecure-http-endpoints if this network is trusted");
  }
  return f;
}

inline std::string help_text() {
  std::string out =
      "Usage: flanneld_alivpc [flags]\n\n"
      "flannel's ali-vpc backend: takes a subnet lease from etcd and keeps a route for it in the\n"
      "Alibaba Cloud VPC route tables. Every flag can also be set as FLANNELD_<FLAG>.\n\n"
      "Flags:\n";
  daemon_flags defaults;
  for (auto& s : all_flags()) {
    // Appended, not `"  --" + ...`: GCC 12 at -O3 reports a false -Wrestrict on that temporary.
    std::string line = "  --";
    line.append(s.name);
    if (s.value_name) line.append("=").append(s.value_name);
    if (line.size() < 34)
      line.resize(34, ' ');
    else
      line += "  ";
    line += s.help;
    auto d = s.show(defaults);
    if (!d.empty() && d != "false") line.append(" (default ").append(d).append(")");
    out.append(line).append("  [").append(env_name(s.name)).append("]\n");
  }
  out += "\nExit codes: 0 clean shutdown, 1 fatal error, 2 usage error.\n";
  return out;
}

}  // namespace flanneld_alivpc
