// lease_store on etcd's v2 keys API (flannel up to v0.17, and where the seed's
// `etcdctl set <prefix>/config ...` writes). A lease is a key with a TTL, created with
// prevExist=false so only one node can create it; a key without TTL is a reservation. The watch is
// a long poll (?wait=true&recursive=true&waitIndex=N); when etcd has cleared that index
// (errorCode 401) the store re-lists and reports the difference.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>
#include <alivpc/lease/etcd_options.hpp>
#include <alivpc/lease/detail/store_common.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_allocator.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>

#include <charconv>
#include <map>

namespace alivpc::lease {

class etcd_v2_store {
 public:
  etcd_v2_store(asio_scheduler& sched, etcd_options opts)
      : sched_(sched),
        opts_(std::move(opts)),
        pool_(sched.io(), opts_.endpoints, opts_.http, opts_.backoff) {}
  etcd_v2_store(const etcd_v2_store&) = delete;
  etcd_v2_store& operator=(const etcd_v2_store&) = delete;

  const etcd_options& options() const noexcept { return opts_; }
  std::string describe() const { return "etcd v2 at " + pool_.describe(); }

  task<std::optional<std::string>> get_config_text() {
    auto a = co_await call("GET", keys_path(opts_.config_key()), "");
    if (a.answer.error_code == 100) co_return std::nullopt;
    check(a, "read the network config");
    if (!a.answer.node) detail::bad_answer(a.ctx, "config answer without node");
    co_return a.answer.node->value;
  }

  task<config::network_config> get_network_config() {
    auto text = co_await get_config_text();
    if (!text)
      fail(error_kind::not_found,
           detail::no_config_message("v2", opts_.config_key(), pool_.describe()));
    co_return config::parse_network_config(*text);
  }

  task<lease_list> list_leases() {
    auto out = co_await scan();
    known_.clear();
    for (const auto& l : out.leases)
      known_[subnet_key(l.subnet)] = l;
    co_return out;
  }

  task<lease> acquire_lease(const config::network_config& cfg, const lease_attrs& attrs,
                            std::optional<net::ipv4_cidr> previous, std::chrono::seconds ttl) {
    const std::string value = format_lease_value(attrs);
    const std::string ttl_text = std::to_string(ttl.count());
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
          auto q = "?prevIndex=" + std::to_string(l.revision);
          co_await call("DELETE", keys_path(key_of(l.subnet)) + q, "");  // no longer fits: drop it
          continue;
        }
        taken.push_back(l.subnet);
      }
      if (mine && mine->is_reservation()) co_return *mine;
      if (mine) {
        // Refresh our live lease in place, only if nobody changed it since we looked.
        auto q = "?prevIndex=" + std::to_string(mine->revision);
        auto a = co_await call("PUT", keys_path(key_of(mine->subnet)) + q, form(value, ttl_text));
        if (a.answer.error_code == 0 && a.answer.node) co_return made(*a.answer.node, attrs, a.ctx);
        if (a.answer.error_code != 100 && a.answer.error_code != 101) check(a, "refresh our lease");
        continue;
      }
      auto subnet = allocate_subnet(cfg, taken, previous, sched_.random());
      auto a = co_await call("PUT", keys_path(key_of(subnet)) + "?prevExist=false",
                             form(value, ttl_text));
      if (a.answer.error_code == 0 && a.answer.node) co_return made(*a.answer.node, attrs, a.ctx);
      if (a.answer.error_code != 105) check(a, "create the lease key");
      if (previous && *previous == subnet) previous.reset();  // lost the race: choose again
    }
    fail(error_kind::conflict, describe() + ": acquire lease: lost the race for a subnet " +
                                   std::to_string(opts_.max_claim_attempts) + " times");
  }

  task<lease> renew_lease(const lease& l, std::chrono::seconds ttl) {
    const std::string key = key_of(l.subnet);
    if (l.is_reservation()) {
      auto a = co_await call("GET", keys_path(key), "");
      if (a.answer.error_code == 100)
        fail(error_kind::not_found, a.ctx + ": the reservation " + key + " was deleted");
      check(a, "check our reservation");
      co_return l;
    }
    // prevValue: only our own value is refreshed; a key someone else re-created is not ours.
    const std::string value = format_lease_value(l.attrs);
    auto q = "?prevValue=" + alivpc::detail::percent_encode(value);
    auto a = co_await call("PUT", keys_path(key) + q, form(value, std::to_string(ttl.count())));
    if (a.answer.error_code == 100)
      fail(error_kind::not_found, a.ctx + ": the lease key " + key + " expired or was deleted");
    if (a.answer.error_code == 101)
      fail(error_kind::not_found,
           a.ctx + ": the lease key " + key + " now belongs to another node");
    check(a, "renew the lease");
    if (!a.answer.node) detail::bad_answer(a.ctx, "renew answer without node");
    co_return made(*a.answer.node, l.attrs, a.ctx);
  }

  // Deletes our key (only while it still holds our value). Reservations are left alone.
  task<void> revoke_lease(const lease& l) {
    if (l.is_reservation()) co_return;
    const std::string key = key_of(l.subnet);
    auto q = "?prevValue=" + alivpc::detail::percent_encode(format_lease_value(l.attrs));
    auto a = co_await call("DELETE", keys_path(key) + q, "");
    if (a.answer.error_code != 100 && a.answer.error_code != 101) check(a, "delete the lease key");
    known_.erase(subnet_key(l.subnet));
  }

  task<watch_result> watch_leases(std::int64_t revision) {
    const auto deadline = sched_.now() + opts_.watch_wait;
    const std::string target =
        keys_path(opts_.subnets_dir()) +
        "?wait=true&recursive=true&waitIndex=" + std::to_string(revision + 1);
    std::optional<error> last_error;
    for (unsigned round = 0; sched_.now() < deadline; ++round) {
      auto& c = pool_.current();
      const std::string ctx = "etcd v2 GET " + keys_path(opts_.subnets_dir()) + " (watch) on " +
                              c.endpoint().to_string();
      std::string body;
      unsigned status = 0;
      std::string content_type;
      store_identity seen_store;
      bool broke = false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - sched_.now());
      try {
        http::request req;
        req.target = target;
        // Named callbacks: GCC 12 destroys lambda temporaries in a co_await expression twice.
        std::function<bool(std::string_view)> on_data = [&](std::string_view piece) {
          body.append(piece);
          return body.size() < (16u << 20);
        };
        http::stream_options sopts;
        sopts.max_duration = std::max(left, std::chrono::milliseconds(1));
        sopts.on_headers = [&](const http::response& h) {
          content_type = h.header("Content-Type");
          seen_store = identity_of(h, ctx);
        };
        status = co_await c.stream(std::move(req), on_data, sopts);
      } catch (const error& e) {
        if (!e.retryable()) throw;
        last_error = e;
        broke = true;
      }
      if (broke) {
        pool_.note_failure(*last_error, sched_.now());
        c.reset();
        pool_.advance();
        auto pause = http::full_jitter_delay(sched_.random(), round, opts_.backoff);
        if (sched_.now() + pause > deadline) break;
        co_await sleep_for(sched_, pause);
        continue;
      }
      // Status and content type first: an etcd without --enable-v2 answers "404 page not found"
      // as text, a proxy an HTML 502. Taking those for "no events" would make the caller
      // watch again at once, in a tight loop.
      if (status != 0) check_json_answer(status, content_type, body, ctx);
      // A body cut short by our time limit holds no complete event: nothing happened.
      auto j = alivpc::detail::parse_json_bounded(body, error_kind::parse, ctx);
      if (body.empty() || j.is_discarded()) co_return watch_result{{}, revision, false, seen_store};
      auto ans = detail::parse_v2_answer(body, ctx);
      if (ans.error_code == 401) co_return co_await resync();  // history cleared
      if (ans.error_code != 0 || status >= 300)
        fail(status >= 500 ? error_kind::transient : error_kind::permanent,
             ctx + ": etcd answered HTTP " + std::to_string(status) + ": " + ans.message);
      if (!ans.node) detail::bad_answer(ctx, "watch event without node", body);
      watch_result out;
      out.store = seen_store;
      out.revision = std::max(revision, ans.node->modified_index);
      const std::string dir = opts_.subnets_dir();
      const bool gone =
          ans.action == "delete" || ans.action == "expire" || ans.action == "compareAndDelete";
      if (gone) {
        const std::string& old_value = ans.prev_node ? ans.prev_node->value : std::string();
        if (auto l = detail::lease_from_entry(ans.node->key, dir, old_value)) {
          auto k = subnet_key(l->subnet);
          if (!ans.prev_node)
            if (auto it = known_.find(k); it != known_.end()) l = it->second;
          l->revision = ans.node->modified_index;
          if (ans.prev_node) l->create_revision = ans.prev_node->created_index;
          if (ans.action == "expire" && !l->expiration) l->expiration = sched_.wall_now();
          known_.erase(k);
          out.events.push_back({lease_event_type::removed, std::move(*l)});
        }
      } else if (auto l = to_lease(*ans.node)) {
        known_[subnet_key(l->subnet)] = *l;
        out.events.push_back({lease_event_type::added, std::move(*l)});
      }
      co_return out;
    }
    if (last_error) throw *last_error;
    co_return watch_result{{}, revision, false, {}};
  }

  // For --etcd-api=auto: the config text (nullopt when the key is absent), or api_available =
  // false when the endpoint has no v2 keys API (etcd 3.4+ without --enable-v2 answers 404 text).
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

 private:
  struct v2_call {
    unsigned status = 0;
    detail::v2_answer answer;
    std::string ctx;
    std::int64_t etcd_index = 0;  // X-Etcd-Index
    std::string cluster_id;       // X-Etcd-Cluster-Id
  };

  // X-Etcd-Cluster-Id and X-Etcd-Index of an answer.
  static store_identity identity_of(const http::response& r, const std::string& ctx) {
    store_identity id;
    id.cluster_id = r.header("X-Etcd-Cluster-Id").substr(0, 40);
    auto idx = r.header("X-Etcd-Index");
    if (!idx.empty()) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), v);
      if (ec != std::errc{} || p != idx.data() + idx.size())
        detail::bad_answer(ctx, "X-Etcd-Index is not a number: " + idx.substr(0, 30));
      id.store_revision = v;
    }
    return id;
  }

  // The keys API answers JSON, errors included; anything else is not etcd's v2 API talking.
  void check_json_answer(unsigned status, std::string_view content_type, std::string_view body,
                         const std::string& ctx) {
    if (content_type.substr(0, 16) == "application/json") return;
    std::string msg = ctx + ": etcd answered HTTP " + std::to_string(status) + " with " +
                      (content_type.empty() ? std::string("no content type")
                                            : std::string(content_type.substr(0, 60))) +
                      ", not the JSON of the v2 keys API";
    if (status == 404) {
      api_absent_ = true;
      msg +=
          " (etcd 3.4 and later serve the v2 API only when started with --enable-v2=true; "
          "or use --etcd-api=v3)";
    } else if (!body.empty()) {
      // A proxy's error page: its first line only, no markup soup.
      auto first = body.substr(0, std::min<std::size_t>(body.find('\n'), 120));
      msg += ": " + std::string(first);
    }
    fail(status >= 500 ? error_kind::transient : error_kind::permanent, msg);
  }

  std::string key_of(const net::ipv4_cidr& subnet) const {
    return opts_.subnets_dir() + subnet_key(subnet);
  }
  static std::string keys_path(const std::string& key) { return "/v2/keys" + key; }
  static std::string form(const std::string& value, const std::string& ttl) {
    return "value=" + alivpc::detail::percent_encode(value) + "&ttl=" + ttl;
  }

  task<v2_call> call_on(http::client& c, std::string method, std::string target, std::string body) {
    const std::string path = target.substr(0, target.find('?'));
    v2_call out;
    out.ctx = "etcd v2 " + method + " " + path + " on " + c.endpoint().to_string();
    http::request req;
    req.method = method;
    req.target = target;
    if (!body.empty())
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = std::move(body);
    auto r = co_await c.send(std::move(req));
    out.status = r.status;
    check_json_answer(r.status, r.header("Content-Type"), r.body, out.ctx);
    if (r.status >= 500)
      fail(error_kind::transient, out.ctx + ": etcd answered HTTP " + std::to_string(r.status));
    if (r.status == 401 || r.status == 403)
      fail(error_kind::permanent,
           out.ctx + ": etcd refused access (HTTP " + std::to_string(r.status) + ")");
    out.answer = detail::parse_v2_answer(r.body, out.ctx);
    auto id = identity_of(r, out.ctx);
    out.etcd_index = id.store_revision;
    out.cluster_id = std::move(id.cluster_id);
    co_return out;
  }

  task<v2_call> call(const char* method, std::string target, std::string body) {
    std::string m = method;
    auto op = [this, &m, &target, &body](http::client& c) { return call_on(c, m, target, body); };
    co_return co_await pool_.with_failover(sched_, op);
  }

  void check(const v2_call& a, const char* what) {
    if (a.answer.error_code == 0 && a.status < 300) return;
    fail(a.answer.error_code == 100 ? error_kind::not_found : error_kind::permanent,
         a.ctx + ": cannot " + what + ": etcd error " + std::to_string(a.answer.error_code) + " " +
             a.answer.message);
  }

  std::optional<lease> to_lease(const detail::v2_node& n) {
    if (n.dir) return std::nullopt;
    auto l = detail::lease_from_entry(n.key, opts_.subnets_dir(), n.value);
    if (!l) return std::nullopt;
    l->revision = n.modified_index;
    l->create_revision = n.created_index;
    if (n.ttl) l->expiration = sched_.wall_now() + std::chrono::seconds(*n.ttl);
    return l;
  }

  lease made(const detail::v2_node& n, const lease_attrs& attrs, const std::string& ctx) {
    auto l = to_lease(n);
    if (!l) detail::bad_answer(ctx, "written key " + n.key.substr(0, 100) + " is not a subnet key");
    l->attrs = attrs;
    if (!l->expiration) detail::bad_answer(ctx, "written lease key has no TTL");
    known_[subnet_key(l->subnet)] = *l;
    return *l;
  }

  task<lease_list> scan() {
    auto a = co_await call("GET", keys_path(opts_.subnets_dir()) + "?recursive=true", "");
    lease_list out;
    if (a.answer.error_code == 100) {  // no subnets directory yet
      out.revision = a.etcd_index ? a.etcd_index : a.answer.index;
      out.store = {a.cluster_id, out.revision};
      co_return out;
    }
    check(a, "list the subnet leases");
    out.revision = a.etcd_index;
    out.store = {a.cluster_id, a.etcd_index};
    if (a.answer.node)
      for (const auto& n : a.answer.node->nodes)
        if (auto l = to_lease(n)) out.leases.push_back(std::move(*l));
    co_return out;
  }

  task<watch_result> resync() {
    auto before = known_;
    auto now = co_await list_leases();
    watch_result out;
    out.revision = now.revision;
    out.resynced = true;
    out.store = now.store;
    // One claim: the same createdIndex (a renewal changes modifiedIndex, not the claim).
    out.events = detail::diff_snapshots(before, known_, [](const lease& a, const lease& b) {
      return a.create_revision == b.create_revision;
    });
    co_return out;
  }

  asio_scheduler& sched_;
  etcd_options opts_;
  http::endpoint_pool pool_;
  std::map<std::string, lease> known_;
  bool api_absent_ = false;  // answered 404 without JSON: no v2 keys API here
};

static_assert(lease_store<etcd_v2_store>);

}  // namespace alivpc::lease
