// etcd's v3 API through its JSON gateway as a lease_kv (etcd 3.4: POST only, int64 fields as
// JSON strings, fields at their default value omitted, base64 keys and values), and
// etcd_v3_store, the lease algorithm over it.
//
// A claim is an etcd lease (TTL) plus the subnet key attached to it, created by a txn that only
// succeeds when the key does not exist (create_revision == 0). A key without an etcd lease is a
// reservation. Every call goes through an endpoint_pool (failover + jittered backoff).
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/detail/base64.hpp>
#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/lease/basic_lease_store.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>
#include <alivpc/lease/etcd_options.hpp>
#include <alivpc/lease/kv.hpp>
#include <alivpc/lease/route_coordination.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>

#include <map>

namespace alivpc::lease {

class etcd_v3_kv {
 public:
  etcd_v3_kv(asio_scheduler& sched, etcd_options opts)
      : sched_(sched),
        opts_(without_basic_auth(std::move(opts), credentials_)),
        pool_(sched.io(), opts_.endpoints, opts_.http, opts_.backoff) {}
  etcd_v3_kv(const etcd_v3_kv&) = delete;
  etcd_v3_kv& operator=(const etcd_v3_kv&) = delete;

  std::string describe() const { return "etcd v3 at " + pool_.describe(); }
  static std::string_view api() { return "v3"; }
  std::string config_key() const { return opts_.config_key(); }
  int max_claim_attempts() const { return opts_.max_claim_attempts; }
  prng& random() { return sched_.random(); }
  // A non-JSON 404 was seen: the gateway answers its own 404s (gRPC NotFound) in JSON.
  bool api_absent() const { return api_absent_; }

  task<std::optional<std::string>> get_config() {
    auto r = co_await range(opts_.config_key());
    if (r.kvs.empty()) co_return std::nullopt;
    co_return r.kvs.front().value;
  }

  task<std::optional<lease>> get(net::ipv4_cidr subnet) {
    auto r = co_await range(key_of(subnet));
    if (r.kvs.empty()) co_return std::nullopt;
    co_return to_lease(r.kvs.front());
  }

  task<lease_list> list() {
    const std::string dir = opts_.subnets_dir();
    return list_range(dir, detail::prefix_range_end(dir), expiry::placeholder);
  }

  task<lease_list> list_one(net::ipv4_cidr subnet) {
    return list_range(key_of(subnet), {}, expiry::looked_up);
  }

  task<std::optional<lease>> create(net::ipv4_cidr subnet, const std::string& value,
                                    std::chrono::seconds ttl) {
    auto key = key_of(subnet);
    const nlohmann::json absent = {
        {"target", "CREATE"}, {"key", b64(key)}, {"create_revision", "0"}};
    auto g = co_await grant(ttl);
    const nlohmann::json write = put(key, value, g.id);
    auto t = co_await txn(absent, write);
    if (t.succeeded) co_return made(subnet, g, t.revision, t.revision);
    co_await revoke_quietly(g.id);
    co_return std::nullopt;
  }

  task<std::optional<lease>> replace(const lease& l, const std::string& value,
                                     std::chrono::seconds ttl) {
    auto key = key_of(l.subnet);
    auto g = co_await grant(ttl);
    const nlohmann::json compare = unchanged(key, l.revision), write = put(key, value, g.id);
    auto t = co_await txn(compare, write);
    if (t.succeeded) {
      co_await revoke_quietly(l.lease_id);
      co_return made(l.subnet, g, t.revision, l.create_revision);
    }
    co_await revoke_quietly(g.id);
    co_return std::nullopt;
  }

  task<wall_time> keepalive(const lease& l, std::chrono::seconds /*ttl: fixed at grant*/) {
    const nlohmann::json request_body = {{"ID", std::to_string(l.lease_id)}};
    auto a = co_await post("/v3/lease/keepalive", request_body);
    auto ttl = detail::parse_v3_keepalive(a.body, a.ctx);
    if (!ttl)
      fail(error_kind::not_found, a.ctx + ": the lease of " + l.subnet.to_string() +
                                      " (etcd lease " + std::to_string(l.lease_id) +
                                      ") expired or was revoked");
    co_return sched_.wall_now() + std::chrono::seconds(*ttl);
  }

  task<void> remove(const lease& l) {
    auto key = key_of(l.subnet);
    // Named arguments: GCC 12 mishandles temporaries inside co_await expressions.
    const nlohmann::json compare = unchanged(key, l.revision);
    const nlohmann::json erase = {{"request_delete_range", {{"key", b64(key)}}}};
    co_await txn(compare, erase);
  }

  // Revoking the etcd lease deletes the key attached to it.
  task<void> release(const lease& l) { return revoke_quietly(l.lease_id); }

  task<kv_changes> watch(std::int64_t revision) {
    const std::string dir = opts_.subnets_dir();
    return watch_range(dir, detail::prefix_range_end(dir), revision);
  }

  task<kv_changes> watch_one(net::ipv4_cidr subnet, std::int64_t revision) {
    return watch_range(key_of(subnet), {}, revision);
  }

  // --- coordination_kv (route_coordination.hpp): keys beside subnets/, never under it ---------

  std::string network_prefix() const { return opts_.prefix; }

  // An etcd lease plus the key attached to it, by a txn that only succeeds while it is absent.
  task<std::optional<kv_entry>> create_ttl_key(const std::string& key, const std::string& value,
                                               std::chrono::seconds ttl) {
    const nlohmann::json absent = {
        {"target", "CREATE"}, {"key", b64(key)}, {"create_revision", "0"}};
    auto g = co_await grant(ttl);
    const nlohmann::json write = put(key, value, g.id);
    auto t = co_await txn(absent, write);
    if (!t.succeeded) {
      co_await revoke_quietly(g.id);
      co_return std::nullopt;
    }
    co_return kv_entry{key, value, t.revision, g.id,
                       sched_.wall_now() + std::chrono::seconds(g.ttl)};
  }

  task<kv_read> get_key(const std::string& key) {
    auto read = range(key);
    auto r = co_await std::move(read);
    kv_read out{std::nullopt, r.revision};
    if (!r.kvs.empty()) out.entry = co_await entry_with_expiry(r.kvs.front());
    co_return out;
  }

  task<bool> watch_key(const std::string& key, std::int64_t revision) {
    auto watch = watch_range(key, {}, revision);
    auto changes = co_await std::move(watch);
    co_return changes.compacted || changes.revision > revision;
  }

  // Keepalive first, then the check: a key seen holding our claim after the keepalive lasts
  // until the expiry it answered (checked first, the key could go before the keepalive). The
  // etcd lease's TTL was fixed at grant: `ttl` is not used.
  task<std::optional<kv_entry>> refresh_ttl_key(const kv_entry& e, std::chrono::seconds /*ttl*/) {
    if (e.lease_id == 0) co_return std::nullopt;  // not a claim with an etcd lease
    std::optional<std::int64_t> ttl;
    try {
      const nlohmann::json request_body = {{"ID", std::to_string(e.lease_id)}};
      auto a = co_await post("/v3/lease/keepalive", request_body);
      ttl = detail::parse_v3_keepalive(a.body, a.ctx);
    } catch (const error& err) {
      if (err.kind() != error_kind::not_found) throw;
    }
    if (!ttl) co_return std::nullopt;  // the etcd lease expired or was revoked
    auto read = range(e.key);
    auto r = co_await std::move(read);
    if (r.kvs.empty()) co_return std::nullopt;
    const auto& now = r.kvs.front();
    if (now.create_revision != e.revision || now.lease != e.lease_id || now.value != e.value)
      co_return std::nullopt;
    kv_entry out = e;
    out.expiration = sched_.wall_now() + std::chrono::seconds(*ttl);
    co_return out;
  }

  task<void> delete_key_if_unchanged(const kv_entry& e) {
    const nlohmann::json same_claim = {
        {"target", "CREATE"}, {"key", b64(e.key)}, {"create_revision", std::to_string(e.revision)}};
    const nlohmann::json same_value = {
        {"target", "VALUE"}, {"key", b64(e.key)}, {"value", b64(e.value)}};
    const nlohmann::json compares = nlohmann::json::array({same_claim, same_value});
    const nlohmann::json erase = {{"request_delete_range", {{"key", b64(e.key)}}}};
    co_await txn_all(compares, erase);
    co_await revoke_quietly(e.lease_id);  // ours either way; attached to nothing else
  }

  task<void> put_key(const std::string& key, const std::string& value) {
    const nlohmann::json request_body = {{"key", b64(key)}, {"value", b64(value)}};
    co_await post("/v3/kv/put", request_body);
  }

  task<void> delete_key(const std::string& key) {
    const nlohmann::json request_body = {{"key", b64(key)}};
    co_await post("/v3/kv/deleterange", request_body);
  }

  task<std::vector<kv_entry>> list_keys(const std::string& dir) {
    auto read = range(dir, detail::prefix_range_end(dir));
    auto r = co_await std::move(read);
    std::vector<kv_entry> out;
    for (const auto& kv : r.kvs) {
      if (kv.key.find('/', dir.size()) != std::string::npos) continue;  // deeper: not a child
      out.push_back(co_await entry_with_expiry(kv));
    }
    co_return out;
  }

 private:
  // A coordination key; one attached to an etcd lease gets its expiry. A lease that ended but
  // whose key etcd has not deleted yet (its expiry sweep lags) expires now: the key is still
  // reported, as it still blocks a create.
  task<kv_entry> entry_with_expiry(const detail::v3_kv& kv) {
    kv_entry e{kv.key, kv.value, kv.create_revision, kv.lease, std::nullopt};
    if (kv.lease != 0) {
      auto left = co_await time_to_live(kv.lease);
      e.expiration = sched_.wall_now() + std::chrono::seconds(std::max<std::int64_t>(left, 0));
    }
    co_return e;
  }

  struct answer {
    std::string body;
    std::string ctx;
  };

  static std::string b64(std::string_view s) { return alivpc::detail::base64_encode(s); }

  task<answer> post_on(http::client& c, std::string path, std::string body) {
    std::string ctx = "etcd v3 POST " + path + " on " + c.endpoint().to_string();
    if (credentials_ && token_.empty()) co_await authenticate(c);
    for (int attempt = 0;; ++attempt) {
      http::request req;
      req.method = "POST";
      req.target = path;
      req.headers.emplace_back("Content-Type", "application/json");
      if (!token_.empty()) req.headers.emplace_back("Authorization", token_);
      req.body = body;
      auto r = co_await c.send(std::move(req));
      if (r.status == 200) co_return answer{std::move(r.body), std::move(ctx)};
      if (r.status == 404 && r.header("Content-Type").substr(0, 16) != "application/json")
        api_absent_ = true;  // the gateway answers its 404s (gRPC NotFound) in JSON
      // Simple tokens expire after etcd's --auth-token-ttl of silence: log in again once.
      if (credentials_ && attempt == 0 && is_token_error(r.body)) {
        token_.clear();
        co_await authenticate(c);
        continue;
      }
      detail::throw_v3_error(r.status, r.body, ctx);
    }
  }

  // The v3 gateway does not take HTTP basic auth: --etcd-username/--etcd-password become a
  // token from /v3/auth/authenticate, sent as the Authorization header.
  static etcd_options without_basic_auth(
      etcd_options o, std::optional<std::pair<std::string, std::string>>& creds) {
    creds = o.http.basic_auth;
    o.http.basic_auth.reset();
    for (auto& e : o.endpoints) {
      if (!creds && !e.username.empty()) creds = std::pair{e.username, e.password};
      e.username.clear();
      e.password.clear();
    }
    return o;
  }

  static bool is_token_error(std::string_view body) {
    return body.find("invalid auth token") != std::string_view::npos ||
           body.find("user name is empty") != std::string_view::npos;
  }

  task<void> authenticate(http::client& c) {
    const std::string ctx = "etcd v3 POST /v3/auth/authenticate on " + c.endpoint().to_string() +
                            " (user " + credentials_->first + ")";
    http::request req;
    req.method = "POST";
    req.target = "/v3/auth/authenticate";
    req.headers.emplace_back("Content-Type", "application/json");
    req.body =
        nlohmann::json{{"name", credentials_->first}, {"password", credentials_->second}}.dump();
    auto r = co_await c.send(std::move(req));
    if (r.status != 200) detail::throw_v3_error(r.status, r.body, ctx);
    auto j = detail::parse_json(r.body, ctx);
    auto t = j.find("token");
    if (t == j.end() || !t->is_string() || t->get_ref<const std::string&>().empty())
      detail::bad_answer(ctx, "authenticate answer without token");
    token_ = t->get<std::string>();
  }

  task<answer> post(const char* path, const nlohmann::json& body) {
    std::string where = path, text = body.dump();
    auto op = [this, &where, &text](http::client& c) { return post_on(c, where, text); };
    co_return co_await pool_.with_failover(sched_, op);
  }

  std::string key_of(net::ipv4_cidr subnet) const {
    return opts_.subnets_dir() + subnet_key(subnet);
  }

  // The leases among one key, or every key from `key` up to `range_end`.
  // What a listed lease's expiration holds: to_lease's placeholder, or its etcd lease's TTL.
  enum class expiry { placeholder, looked_up };
  task<lease_list> list_range(std::string key, std::string range_end, expiry want) {
    auto r = co_await range(std::move(key), std::move(range_end));
    lease_list out;
    out.revision = r.revision;
    out.store = {r.cluster_id, r.revision};
    std::map<std::int64_t, std::int64_t> ttl_of;  // etcd lease id -> remaining seconds
    for (const auto& kv : r.kvs) {
      auto l = to_lease(kv);
      if (!l) continue;
      if (l->lease_id != 0 && want == expiry::looked_up) {
        auto it = ttl_of.find(l->lease_id);
        if (it == ttl_of.end())
          it = ttl_of.emplace(l->lease_id, co_await time_to_live(l->lease_id)).first;
        if (it->second <= 0) continue;  // its lease just ended: the key is going away
        l->expiration = sched_.wall_now() + std::chrono::seconds(it->second);
      }
      out.leases.push_back(std::move(*l));
    }
    co_return out;
  }

  // A watch of one key, or of every key from `key` up to `range_end`.
  task<kv_changes> watch_range(std::string key, std::string range_end, std::int64_t revision) {
    const auto deadline = sched_.now() + opts_.watch_wait;
    nlohmann::json create = {
        {"create_request",
         {{"key", b64(key)}, {"start_revision", std::to_string(revision + 1)}, {"prev_kv", true}}}};
    if (!range_end.empty()) create["create_request"]["range_end"] = b64(range_end);
    const std::string body = create.dump();
    std::optional<error> last_error;
    while (sched_.now() < deadline) {
      auto& c = pool_.current();
      const std::string ctx = "etcd v3 POST /v3/watch on " + c.endpoint().to_string();
      detail::v3_watch_decoder decoder(ctx);
      std::vector<detail::v3_watch_event> events;
      store_identity seen_store;
      bool compacted = false, broke = false;
      unsigned status = 0;
      std::string error_body;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - sched_.now());
      try {
        http::request req;
        req.method = "POST";
        req.target = "/v3/watch";
        req.body = body;
        if (credentials_ && token_.empty()) co_await authenticate(c);
        if (!token_.empty()) req.headers.emplace_back("Authorization", token_);
        status =
            co_await c.stream(std::move(req),
                              [&](std::string_view piece) {
                                if (status != 200 && status != 0) {
                                  error_body.append(piece);
                                  return error_body.size() < 4096;
                                }
                                for (auto& m : decoder.feed(piece)) {
                                  if (!m.cluster_id.empty())
                                    seen_store = {m.cluster_id, m.revision};
                                  if (m.canceled || m.compact_revision > 0) {
                                    compacted = m.compact_revision > 0;
                                    if (!compacted)
                                      fail(error_kind::transient,
                                           ctx + ": watch canceled by etcd: " + m.cancel_reason);
                                    return false;
                                  }
                                  for (auto& e : m.events)
                                    events.push_back(std::move(e));
                                }
                                return events.empty();
                              },
                              {.idle_timeout = std::chrono::milliseconds(0),
                               .max_duration = std::max(left, std::chrono::milliseconds(1)),
                               .on_headers = [&](const http::response& h) { status = h.status; }});
      } catch (const error& e) {
        if (!e.retryable()) throw;
        last_error = e;
        broke = true;
      }
      if (broke && events.empty() && !compacted) {
        // The stream broke (or never opened): the caller hears it at once and reads the key
        // again, from the next endpoint. Waiting out the bound in here would hide an etcd
        // rebuilt on the same address (its revisions start again below our watch's) for
        // minutes.
        pool_.note_failure(*last_error, sched_.now());
        c.reset();
        pool_.advance();
        throw *last_error;
      }
      if (status != 200 && status != 0) detail::throw_v3_error(status, error_body, ctx);
      kv_changes out;
      out.compacted = compacted;
      out.store = seen_store;
      for (auto& e : events) {
        out.revision = std::max(out.revision, e.kv.mod_revision);
        if (auto c = co_await to_change(e)) out.changes.push_back(std::move(*c));
      }
      co_return out;
    }
    if (last_error) throw *last_error;
    co_return kv_changes{};
  }

  // One key, or every key from `key` up to `range_end`.
  task<detail::v3_range_result> range(std::string key, std::string range_end = {}) {
    nlohmann::json request_body = {{"key", b64(key)}};
    if (!range_end.empty()) request_body["range_end"] = b64(range_end);
    auto a = co_await post("/v3/kv/range", request_body);
    co_return detail::parse_v3_range(a.body, a.ctx);
  }

  // A subnet key as a lease; its expiration is a placeholder (now) when it has an etcd lease.
  std::optional<lease> to_lease(const detail::v3_kv& kv) const {
    auto l = detail::lease_from_entry(kv.key, opts_.subnets_dir(), kv.value);
    if (!l) return std::nullopt;
    l->revision = kv.mod_revision;
    l->create_revision = kv.create_revision;
    l->lease_id = kv.lease;
    if (kv.lease != 0) l->expiration = sched_.wall_now();
    return l;
  }

  task<std::int64_t> time_to_live(std::int64_t id) {
    const nlohmann::json request_body = {{"ID", std::to_string(id)}};
    auto a = co_await post("/v3/lease/timetolive", request_body);
    co_return detail::parse_v3_timetolive(a.body, a.ctx);
  }

  task<detail::v3_grant_result> grant(std::chrono::seconds ttl) {
    const nlohmann::json request_body = {{"TTL", std::to_string(ttl.count())}};
    auto a = co_await post("/v3/lease/grant", request_body);
    co_return detail::parse_v3_grant(a.body, a.ctx);
  }

  // One compare, one request on success.
  task<detail::v3_txn_result> txn(const nlohmann::json& compare, const nlohmann::json& success) {
    const nlohmann::json request_body = {{"compare", nlohmann::json::array({compare})},
                                         {"success", nlohmann::json::array({success})}};
    auto a = co_await post("/v3/kv/txn", request_body);
    co_return detail::parse_v3_txn(a.body, a.ctx);
  }
  // Every compare, one request on success.
  task<detail::v3_txn_result> txn_all(const nlohmann::json& compares,
                                      const nlohmann::json& success) {
    const nlohmann::json request_body = {{"compare", compares},
                                         {"success", nlohmann::json::array({success})}};
    auto a = co_await post("/v3/kv/txn", request_body);
    co_return detail::parse_v3_txn(a.body, a.ctx);
  }
  static nlohmann::json unchanged(const std::string& key, std::int64_t mod_revision) {
    return {{"target", "MOD"}, {"key", b64(key)}, {"mod_revision", std::to_string(mod_revision)}};
  }
  static nlohmann::json put(const std::string& key, const std::string& value,
                            std::int64_t lease_id) {
    nlohmann::json p = {
        {"key", b64(key)}, {"value", b64(value)}, {"lease", std::to_string(lease_id)}};
    return {{"request_put", p}};
  }

  task<void> revoke_quietly(std::int64_t id) {
    if (id == 0) co_return;
    try {
      const nlohmann::json request_body = {{"ID", std::to_string(id)}};
      co_await post("/v3/lease/revoke", request_body);
    } catch (const error& e) {
      if (e.kind() != error_kind::not_found) throw;  // already gone is fine
    }
  }

  lease made(net::ipv4_cidr subnet, const detail::v3_grant_result& g, std::int64_t revision,
             std::int64_t create_revision) const {
    lease l;
    l.subnet = subnet;
    l.expiration = sched_.wall_now() + std::chrono::seconds(g.ttl);
    l.revision = revision;
    l.lease_id = g.id;
    l.create_revision = create_revision;
    return l;
  }

  task<std::optional<kv_change>> to_change(const detail::v3_watch_event& e) {
    if (e.is_delete) {
      std::string_view value = e.prev_kv ? std::string_view(e.prev_kv->value) : std::string_view{};
      auto l = detail::lease_from_entry(e.kv.key, opts_.subnets_dir(), value);
      if (!l) co_return std::nullopt;
      if (e.prev_kv) {
        l->lease_id = e.prev_kv->lease;
        l->create_revision = e.prev_kv->create_revision;
        if (e.prev_kv->lease) l->expiration = sched_.wall_now();
      }
      l->revision = e.kv.mod_revision;
      co_return kv_change{lease_event_type::removed, std::move(*l), e.prev_kv.has_value()};
    }
    auto l = to_lease(e.kv);
    if (!l) co_return std::nullopt;
    if (e.kv.lease) {
      auto ttl = co_await time_to_live(e.kv.lease);
      l->expiration = sched_.wall_now() + std::chrono::seconds(std::max<std::int64_t>(ttl, 0));
    }
    co_return kv_change{lease_event_type::added, std::move(*l)};
  }

  asio_scheduler& sched_;
  std::optional<std::pair<std::string, std::string>> credentials_;  // never printed
  std::string token_;
  etcd_options opts_;
  http::endpoint_pool pool_;
  bool api_absent_ = false;  // a non-JSON 404: no v3 gateway at this endpoint
};

static_assert(lease_kv<etcd_v3_kv>);
using etcd_v3_store = basic_lease_store<etcd_v3_kv>;
static_assert(lease_store<etcd_v3_store>);
static_assert(coordination_kv<etcd_v3_kv>);
static_assert(route_coordination<etcd_v3_store>);

}  // namespace alivpc::lease
