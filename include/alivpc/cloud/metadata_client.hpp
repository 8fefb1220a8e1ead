// The ECS instance metadata service: who this instance is, and its RAM role credentials.
//
// Hardened mode first (PUT /latest/api/token, then the token on every GET); when the service
// does not hand out tokens, plain GETs. Short timeouts, a few retries, and every answer cached
// for the process lifetime except credentials (their owner refreshes them before Expiration).
// The base URL is a setting: tests point it at the emulator on loopback.
#pragma once

#include <alivpc/cloud/detail/json_fields.hpp>
#include <alivpc/runtime/backoff.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/cloud/secret.hpp>
#include <alivpc/cloud/signer.hpp>
#include <alivpc/cloud/transport.hpp>
#include <alivpc/detail/strings.hpp>
#include <alivpc/error.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace alivpc::cloud {

struct metadata_options {
  std::string base_url = "http://100.100.100.200";  // + "/latest/meta-data/<path>"
  bool hardened = true;                             // try the token mode first
  std::chrono::seconds token_ttl{21600};
  std::chrono::milliseconds timeout{2000};  // connect and whole request, each
  int max_attempts = 3;
  std::chrono::milliseconds retry_backoff{100};  // doubled after each failed attempt
  std::string ca_file;  // only for an https base URL (tests, proxies); the real one is plain http
};

// The RAM role's temporary credentials.
struct ram_credentials {
  std::string access_key_id;
  secret access_key_secret;
  secret security_token;
  wall_time expiration;
};

// {"AccessKeyId","AccessKeySecret","SecurityToken","Expiration","LastUpdated","Code":"Success"}
inline ram_credentials parse_ram_credentials(std::string_view body) {
  constexpr std::string_view what = "RAM role credentials";
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  if (auto code = v.string_or("Code", "Success"); code != "Success")
    fail(error_kind::permanent,
         "metadata RAM role credentials: Code is \"" + code.substr(0, 64) + "\", not \"Success\"");
  ram_credentials out;
  out.access_key_id = v.string_at("AccessKeyId");
  out.access_key_secret = secret(v.string_at("AccessKeySecret"));
  out.security_token = secret(v.string_at("SecurityToken"));
  auto exp_field = v.at("Expiration");
  auto exp_text = exp_field.as_string();
  auto exp = parse_timestamp(exp_text);
  if (!exp)
    fail(error_kind::parse, std::string(what) + " answer: field Expiration: \"" +
                                exp_text.substr(0, 32) + "\" is not YYYY-MM-DDThh:mm:ssZ");
  out.expiration = *exp;
  if (out.access_key_id.empty() || out.access_key_secret.empty())
    fail(error_kind::parse, std::string(what) + " answer: empty AccessKeyId or AccessKeySecret");
  return out;
}

namespace detail {
inline std::string trim_space(std::string_view s) {
  return alivpc::detail::trim(s, " \t\r\n");
}
// Ids go into API parameters and messages: letters, digits, '-', '_', '.', at most 128.
inline bool plausible_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (unsigned char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  return true;
}
}  // namespace detail

// The identity from the raw metadata answers by item name (optional items may be absent).
// `where` names the service in messages.
inline instance_identity parse_identity(const std::map<std::string, std::string>& items,
                                        std::string_view where) {
  auto item = [&](const char* name, bool required) -> std::string {
    auto it = items.find(name);
    if (it == items.end()) {
      if (required)
        fail(error_kind::parse, "metadata " + std::string(where) + ": no " + name + " answer");
      return {};
    }
    return detail::trim_space(it->second);
  };
  auto id_item = [&](const char* name, bool required) {
    auto v = item(name, required);
    if ((required || !v.empty()) && !detail::plausible_id(v))
      fail(error_kind::parse, "metadata " + std::string(where) + "/latest/meta-data/" + name +
                                  ": \"" + v.substr(0, 64) + "\" is not an id");
    return v;
  };
  instance_identity id;
  id.instance_id = id_item("instance-id", true);
  id.region_id = id_item("region-id", true);
  id.vpc_id = id_item("vpc-id", true);
  id.zone_id = id_item("zone-id", false);
  id.vswitch_id = id_item("vswitch-id", false);
  auto ip_text = item("private-ipv4", true);
  auto ip = net::ipv4_address::try_parse(ip_text);
  if (!ip)
    fail(error_kind::parse, "metadata " + std::string(where) +
                                "/latest/meta-data/private-ipv4: \"" + ip_text.substr(0, 64) +
                                "\" is not an IPv4 address");
  id.private_ip = *ip;
  auto cidr = item("vpc-cidr-block", false);
  if (!cidr.empty()) id.vpc_cidr = net::ipv4_cidr::try_parse(cidr);
  return id;
}

// The first role of a ram/security-credentials/ listing; "" when none.
inline std::string first_role_name(std::string_view listing) {
  auto name = detail::trim_space(listing.substr(0, listing.find('\n')));
  return detail::plausible_id(name) ? name : std::string();
}

template <scheduler S>
class metadata_client {
 public:
  metadata_client(S& s, const transport_factory& transport, metadata_options o = {},
                  logger log = {})
      : s_(s), o_(std::move(o)), base_(http::url::parse(o_.base_url)), log_(std::move(log)) {
    http::client_options co;
    co.connect_timeout = o_.timeout;
    co.request_timeout = o_.timeout;
    co.tls.ca_file = o_.ca_file;
    send_ = transport(base_, co);
  }

  const http::url& base() const noexcept { return base_; }

  // "instance-id", "region-id", ...: the text answer, cached. Throws not_found for a 404.
  task<std::string> get(std::string path) {
    if (auto it = cache_.find(path); it != cache_.end()) co_return it->second;
    auto value = co_await get_uncached(path);
    cache_[path] = value;
    co_return value;
  }

  // As get(), but nullopt when the service has no such item (404).
  task<std::optional<std::string>> get_optional(std::string path) {
    try {
      auto value = co_await get(std::move(path));
      co_return value;
    } catch (const error& e) {
      if (e.kind() != error_kind::not_found) throw;
    }
    co_return std::nullopt;
  }

  task<instance_identity> identity() {
    if (identity_) co_return *identity_;
    std::map<std::string, std::string> items;
    for (const char* name : {"instance-id", "region-id", "vpc-id", "private-ipv4"}) {
      auto value = co_await get(name);
      items[name] = value;
    }
    for (const char* name : {"zone-id", "vswitch-id", "vpc-cidr-block"}) {
      auto value = co_await get_optional(name);
      if (value) items[name] = *value;
    }
    identity_ = parse_identity(items, base_.to_string());
    co_return *identity_;
  }

  // The RAM role attached to the instance (the first one listed); not_found when none.
  task<std::string> ram_role_name() {
    auto list = co_await get_optional("ram/security-credentials/");
    auto name = list ? first_role_name(*list) : std::string();
    if (name.empty())
      fail(error_kind::not_found, "metadata " + item_url("ram/security-credentials/") +
                                      ": no RAM role is attached to this instance");
    co_return name;
  }

  // Fresh credentials of a role (never cached here).
  task<ram_credentials> fetch_ram_credentials(std::string role) {
    auto body = co_await get_uncached("ram/security-credentials/" + role);
    co_return parse_ram_credentials(body);
  }

  // GETs and token PUTs sent (for tests: cached answers send nothing).
  std::size_t requests_sent() const noexcept { return requests_; }

  task<std::string> get_uncached(std::string path) {
    // A few quick attempts against a local service: doubling, no jitter, no cap needed.
    const auto first = std::chrono::duration_cast<clock_duration>(o_.retry_backoff);
    backoff retry({first, first * (1 << 10), jitter::none});
    for (int attempt = 1;; ++attempt) {
      try {
        http::request req;
        req.method = "GET";
        req.target = "/latest/meta-data/" + path;
        if (auto token = co_await session_token()) req.headers.emplace_back(token_header, *token);
        ++requests_;
        auto res = co_await send_(std::move(req));
        if (res.status == 200) co_return res.body;
        if (res.status == 401 && token_) {
          token_.reset();  // expired or revoked: get a new one on the next attempt
          fail(error_kind::transient, "metadata " + item_url(path) + ": token refused (HTTP 401)");
        }
        if (res.status == 404)
          fail(error_kind::not_found, "metadata " + item_url(path) + ": HTTP 404 (no such item)");
        auto kind =
            res.status >= 500 || res.status == 429 ? error_kind::transient : error_kind::permanent;
        fail(kind, "metadata " + item_url(path) + ": HTTP " + std::to_string(res.status));
      } catch (const error& e) {
        if (e.kind() != error_kind::transient || attempt >= o_.max_attempts) throw;
        log_.log(log_level::debug, std::string("metadata attempt ") + std::to_string(attempt) +
                                       " failed: " + e.what());
      }
      co_await sleep_for(s_, retry.next(s_.random()));
    }
  }

 private:
  static constexpr const char* token_header = "X-aliyun-ecs-metadata-token";

  std::string item_url(std::string_view path) const {
    return base_.to_string() + "/latest/meta-data/" + std::string(path);
  }

  // A hardened-mode token, renewed a minute before its TTL ends; nullopt in plain mode. A
  // service that answers the PUT with anything but 200 does not do tokens: use plain GETs.
  task<std::optional<std::string>> session_token() {
    if (!o_.hardened || plain_mode_) co_return std::nullopt;
    if (token_ && s_.now() < token_renew_at_) co_return token_;
    http::request req;
    req.method = "PUT";
    req.target = "/latest/api/token";
    req.headers.emplace_back("X-aliyun-ecs-metadata-token-ttl-seconds",
                             std::to_string(o_.token_ttl.count()));
    ++requests_;
    auto res = co_await send_(std::move(req));  // transport errors: the caller retries
    if (res.status >= 500 || res.status == 429)
      fail(error_kind::transient, "metadata " + base_.to_string() + "/latest/api/token: HTTP " +
                                      std::to_string(res.status));
    if (res.status != 200 || res.body.empty()) {
      plain_mode_ = true;
      log_.log(log_level::info, "metadata " + base_.to_string() + ": no session token (HTTP " +
                                    std::to_string(res.status) + "); using plain requests");
      co_return std::nullopt;
    }
    token_ = detail::trim_space(res.body);
    auto ttl = std::chrono::duration_cast<clock_duration>(o_.token_ttl);
    auto margin = std::min<clock_duration>(std::chrono::seconds(60), ttl / 2);
    token_renew_at_ = s_.now() + ttl - margin;
    co_return token_;
  }

  S& s_;
  metadata_options o_;
  http::url base_;
  logger log_;
  send_function send_;
  std::map<std::string, std::string> cache_;
  std::optional<instance_identity> identity_;
  std::optional<std::string> token_;
  time_point token_renew_at_{};
  bool plain_mode_ = false;
  std::size_t requests_ = 0;
};

}  // namespace alivpc::cloud
