// lease_store on etcd's v3 API through its JSON gateway (etcd 3.4: POST only, int64 fields as
// JSON strings, fields at their default value omitted, base64 keys and values).
//
// A lease is an etcd lease (TTL) plus the subnet key attached to it, created by a txn that only
// succeeds when the key does not exist (create_revision == 0), so two nodes can never hold one
// subnet. A key without an etcd lease is a reservation: honoured for its node, never converted
// or taken. Every call goes through an endpoint_pool (failover + jittered backoff).
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/detail/base64.hpp>
#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>
#include <alivpc/lease/detail/store_common.hpp>
#include <alivpc/lease/etcd_options.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_allocator.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>

#include <map>
#include <set>

namespace alivpc::lease {

class etcd_v3_store {
 public:
  etcd_v3_store(asio_scheduler& sched, etcd_options opts)
      : sched_(sched),
        opts_(without_basic_auth(std::move(opts), credentials_)),
        pool_(sched.io(), opts_.endpoints, opts_.http, opts_.backoff) {}
  etcd_v3_store(const etcd_v3_store&) = delete;
  etcd_v3_store& operator=(const etcd_v3_store&) = delete;

  const etcd_options& options() const noexcept { return opts_; }
  std::string describe() const { return "etcd v3 at " + pool_.describe(); }

  // The raw config text, or nullopt when the key does not exist (used by --etcd-api=auto).
  task<std::optional<std::string>> get_config_text() {
    const nlohmann::json request_body = {{"key", b64(opts_.config_key())}};
    auto a = co_await post("/v3/kv/range", request_body);
    auto r = detail::parse_v3_range(a.body, a.ctx);
    if (r.kvs.empty()) co_return std::nullopt;
    co_return r.kvs.front().value;
  }

  // For --etcd-api=auto: the config text (nullopt when the key is absent), or api_available =
  // false when the endpoint has no v3 gateway (HTTP 404 without a gateway JSON error: an etcd
  // before 3.4 serves /v3beta or /v3alpha only, or a proxy in front passes /v2 only).
  task<detail::config_probe> probe_config() {
    detail::config_probe p;
    try {
      p.text = co_await get_config_text();
    } catch (const error& e) {
      if (!api_absent_) throw;
      p.api_available = false;
      p.why = e.what();
    }
    co_return p;
  }

  task<config::network_config> get_network_config() {
    auto text = co_await get_config_text();
    if (!text)
      fail(error_kind::not_found,
           detail::no_config_message("v3", opts_.config_key(), pool_.describe()));
    co_return config::parse_network_config(*text);
  }

  task<lease_list> list_leases() {
    auto snap = co_await scan();
    lease_list out;
    out.revision = snap.revision;
    out.store = {snap.cluster_id, snap.revision};
    std::map<std::int64_t, std::int64_t> ttl_of;  // etcd lease id -> remaining seconds
    for (auto& l : snap.leases) {
      if (l.lease_id == 0) {
        out.leases.push_back(l);
        continue;
      }
      auto it = ttl_of.find(l.lease_id);
      if (it == ttl_of.end())
        it = ttl_of.emplace(l.lease_id, co_await time_to_live(l.lease_id)).first;
      if (it->second <= 0) continue;  // its lease just ended: the key is going away
      l.expiration = sched_.wall_now() + std::chrono::seconds(it->second);
      out.leases.push_back(l);
    }
    known_.clear();
    for (const auto& l : out.leases)
      known_[subnet_key(l.subnet)] = l;
    co_return out;
  }

  task<lease> acquire_lease(const config::network_config& cfg, const lease_attrs& attrs,
                            std::optional<net::ipv4_cidr> previous, std::chrono::seconds ttl) {
    const std::string value = format_lease_value(attrs);
    for (int attempt = 0; attempt < opts_.max_claim_attempts; ++attempt) {
      auto snap = co_await scan();
      std::vector<net::ipv4_cidr> taken;
      std::optional<lease> mine;
      for (const auto& l : snap.leases) {
        // Same PublicIP but another instance id is another node's lease: taken, never adopted.
        const bool ours = same_owner(l.attrs, attrs);
        if (ours && !mine && detail::lease_fits(cfg, l)) {
          mine = l;
          continue;
        }
        if (ours && !l.is_reservation()) {
          co_await delete_if_unchanged(l);  // flannel drops our lease that no longer fits
          continue;
        }
        taken.push_back(l.subnet);
      }
      if (mine && mine->is_reservation()) co_return *mine;
      if (mine) {
        // Move our live lease onto a fresh etcd lease with the requested TTL and current attrs.
        auto g = co_await grant(ttl);
        auto key = opts_.subnets_dir() + subnet_key(mine->subnet);
        nlohmann::json cmp = {
            {"target", "MOD"}, {"key", b64(key)}, {"mod_revision", std::to_string(mine->revision)}};
        auto t = co_await txn(cmp, key, value, g.id);
        if (t.succeeded) {
          co_await revoke_quietly(mine->lease_id);
          co_return made(mine->subnet, attrs, g, t.revision, mine->create_revision);
        }
        co_await revoke_quietly(g.id);
        continue;  // it changed under us: look again
      }
      auto subnet = allocate_subnet(cfg, taken, previous, sched_.random());
      auto g = co_await grant(ttl);
      auto key = opts_.subnets_dir() + subnet_key(subnet);
      nlohmann::json cmp = {{"target", "CREATE"}, {"key", b64(key)}, {"create_revision", "0"}};
      auto t = co_await txn(cmp, key, value, g.id);
      if (t.succeeded) co_return made(subnet, attrs, g, t.revision, t.revision);
      co_await revoke_quietly(g.id);
      if (previous && *previous == subnet) previous.reset();  // someone else has it now
    }
    fail(error_kind::conflict, describe() + ": acquire lease: lost the race for a subnet " +
                                   std::to_string(opts_.max_claim_attempts) + " times");
  }

  task<lease> renew_lease(const lease& l, std::chrono::seconds /*ttl: fixed at grant*/) {
    const std::string key = opts_.subnets_dir() + subnet_key(l.subnet);
    lease out = l;
    if (!l.is_reservation()) {
      const nlohmann::json request_body = {{"ID", std::to_string(l.lease_id)}};
      auto a = co_await post("/v3/lease/keepalive", request_body);
      auto ttl = detail::parse_v3_keepalive(a.body, a.ctx);
      if (!ttl)
        fail(error_kind::not_found, a.ctx + ": the lease of " + l.subnet.to_string() +
                                        " (etcd lease " + std::to_string(l.lease_id) +
                                        ") expired or was revoked");
      out.expiration = sched_.wall_now() + std::chrono::seconds(*ttl);
    }
    const nlohmann::json request_body = {{"key", b64(key)}};
    auto a = co_await post("/v3/kv/range", request_body);
    auto r = detail::parse_v3_range(a.body, a.ctx);
    if (r.kvs.empty())
      fail(error_kind::not_found, a.ctx + ": the key " + key + " of our lease was deleted");
    if (r.kvs.front().lease != l.lease_id)
      fail(error_kind::not_found, a.ctx + ": the key " + key + " now belongs to another lease");
    out.revision = r.kvs.front().mod_revision;
    out.create_revision = r.kvs.front().create_revision;
    co_return out;
  }

  // Deletes the key (by revoking its etcd lease). A reservation belongs to the operator and is
  // left in place.
  task<void> revoke_lease(const lease& l) {
    if (l.is_reservation() || l.lease_id == 0) co_return;
    co_await revoke_quietly(l.lease_id);
    known_.erase(subnet_key(l.subnet));
  }

  task<watch_result> watch_leases(std::int64_t revision) {
    const auto deadline = sched_.now() + opts_.watch_wait;
    const std::string dir = opts_.subnets_dir();
    nlohmann::json create = {{"create_request",
                              {{"key", b64(dir)},
                               {"range_end", b64(detail::prefix_range_end(dir))},
                               {"start_revision", std::to_string(revision + 1)},
                               {"prev_kv", true}}}};
    const std::string body = create.dump();
    std::optional<error> last_error;
    for (unsigned round = 0; sched_.now() < deadline; ++round) {
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
        // The stream broke (or never opened): next endpoint after a jittered pause.
        pool_.note_failure(*last_error, sched_.now());
        c.reset();
        pool_.advance();
        auto pause = http::full_jitter_delay(sched_.random(), round, opts_.backoff);
        if (sched_.now() + pause > deadline) break;
        co_await sleep_for(sched_, pause);
        continue;
      }
      if (status != 200 && status != 0) detail::throw_v3_error(status, error_body, ctx);
      if (compacted) co_return co_await resync();
      watch_result out;
      out.store = seen_store;
      // Resume after the last delivered event, never at the header revision: with a backlog
      // etcd sends a batch of 1,000 revisions under the header of the newest, and the rest
      // would be skipped.
      out.revision = revision;
      for (auto& e : events) {
        out.revision = std::max(out.revision, e.kv.mod_revision);
        if (auto ev = co_await to_event(e)) out.events.push_back(std::move(*ev));
      }
      co_return out;
    }
    if (last_error) throw *last_error;
    co_return watch_result{{}, revision, false, {}};
  }

 private:
  struct answer {
    std::string body;
    std::string ctx;
  };
  struct snapshot {
    std::vector<lease> leases;  // expiration: unset for reservations, a placeholder otherwise
    std::int64_t revision = 0;
    std::string cluster_id;
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

  task<snapshot> scan() {
    const std::string dir = opts_.subnets_dir();
    const nlohmann::json request_body = {{"key", b64(dir)},
                                         {"range_end", b64(detail::prefix_range_end(dir))}};
    auto a = co_await post("/v3/kv/range", request_body);
    auto r = detail::parse_v3_range(a.body, a.ctx);
    snapshot s;
    s.revision = r.revision;
    s.cluster_id = r.cluster_id;
    for (const auto& kv : r.kvs) {
      auto l = detail::lease_from_entry(kv.key, dir, kv.value);
      if (!l) continue;
      l->revision = kv.mod_revision;
      l->create_revision = kv.create_revision;
      l->lease_id = kv.lease;
      if (kv.lease != 0) l->expiration = sched_.wall_now();
      s.leases.push_back(std::move(*l));
    }
    co_return s;
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

  task<detail::v3_txn_result> txn(const nlohmann::json& compare, const std::string& key,
                                  const std::string& value, std::int64_t lease_id) {
    nlohmann::json put = {{"key", b64(key)}, {"value", b64(value)}};
    if (lease_id) put["lease"] = std::to_string(lease_id);
    const nlohmann::json request_body = {
        {"compare", nlohmann::json::array({compare})},
        {"success", nlohmann::json::array({{{"request_put", put}}})}};
    auto a = co_await post("/v3/kv/txn", request_body);
    co_return detail::parse_v3_txn(a.body, a.ctx);
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

  task<void> delete_if_unchanged(const lease& l) {
    auto key = opts_.subnets_dir() + subnet_key(l.subnet);
    nlohmann::json cmp = {
        {"target", "MOD"}, {"key", b64(key)}, {"mod_revision", std::to_string(l.revision)}};
    const nlohmann::json request_body = {
        {"compare", nlohmann::json::array({cmp})},
        {"success", nlohmann::json::array({{{"request_delete_range", {{"key", b64(key)}}}}})}};
    co_await post("/v3/kv/txn", request_body);
  }

  lease made(net::ipv4_cidr subnet, const lease_attrs& attrs, const detail::v3_grant_result& g,
             std::int64_t revision, std::int64_t create_revision) {
    lease l;
    l.subnet = subnet;
    l.attrs = attrs;
    l.expiration = sched_.wall_now() + std::chrono::seconds(g.ttl);
    l.revision = revision;
    l.lease_id = g.id;
    l.create_revision = create_revision;
    known_[subnet_key(subnet)] = l;
    return l;
  }

  task<std::optional<lease_event>> to_event(const detail::v3_watch_event& e) {
    const std::string dir = opts_.subnets_dir();
    if (e.is_delete) {
      std::string_view value = e.prev_kv ? std::string_view(e.prev_kv->value) : std::string_view{};
      auto l = detail::lease_from_entry(e.kv.key, dir, value);
      if (!l) co_return std::nullopt;
      auto k = subnet_key(l->subnet);
      if (!e.prev_kv)
        if (auto it = known_.find(k); it != known_.end()) l = it->second;
      if (e.prev_kv) {
        l->lease_id = e.prev_kv->lease;
        l->create_revision = e.prev_kv->create_revision;
        if (e.prev_kv->lease) l->expiration = sched_.wall_now();
      }
      l->revision = e.kv.mod_revision;
      known_.erase(k);
      co_return lease_event{lease_event_type::removed, std::move(*l)};
    }
    auto l = detail::lease_from_entry(e.kv.key, dir, e.kv.value);
    if (!l) co_return std::nullopt;
    l->revision = e.kv.mod_revision;
    l->lease_id = e.kv.lease;
    l->create_revision = e.kv.create_revision;
    if (e.kv.lease) {
      auto ttl = co_await time_to_live(e.kv.lease);
      l->expiration = sched_.wall_now() + std::chrono::seconds(std::max<std::int64_t>(ttl, 0));
    }
    known_[subnet_key(l->subnet)] = *l;
    co_return lease_event{lease_event_type::added, std::move(*l)};
  }

  // History was compacted: list afresh and report the difference from what we knew.
  task<watch_result> resync() {
    auto before = known_;
    auto now = co_await list_leases();
    watch_result out;
    out.revision = now.revision;
    out.resynced = true;
    out.store = now.store;
    // One claim: the same etcd lease and the same creation (a reservation has no lease id).
    out.events = detail::diff_snapshots(before, known_, [](const lease& a, const lease& b) {
      return a.lease_id == b.lease_id && a.create_revision == b.create_revision;
    });
    co_return out;
  }

  asio_scheduler& sched_;
  std::optional<std::pair<std::string, std::string>> credentials_;  // never printed
  std::string token_;
  etcd_options opts_;
  http::endpoint_pool pool_;
  std::map<std::string, lease> known_;  // the last known state, for diffs after compaction
  bool api_absent_ = false;             // a non-JSON 404: no v3 gateway at this endpoint
};

static_assert(lease_store<etcd_v3_store>);

}  // namespace alivpc::lease
