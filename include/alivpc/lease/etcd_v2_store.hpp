// etcd's v2 keys API as a lease_kv (flannel up to v0.17, and where the seed's
// `etcdctl set <prefix>/config ...` writes), and etcd_v2_store, the lease algorithm over it. A
// claim is a key with a TTL, created with prevExist=false; a key without TTL is a reservation.
// The watch is a long poll (?wait=true&recursive=true&waitIndex=N); etcd's errorCode 401 (that
// index was cleared) is reported as compaction.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/lease/basic_lease_store.hpp>
#include <alivpc/lease/detail/etcd_json.hpp>
#include <alivpc/lease/etcd_options.hpp>
#include <alivpc/lease/kv.hpp>
#include <alivpc/lease/route_coordination.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>

#include <charconv>

namespace alivpc::lease {

class etcd_v2_kv {
 public:
  etcd_v2_kv(asio_scheduler& sched, etcd_options opts)
      : sched_(sched),
        opts_(std::move(opts)),
        pool_(sched.io(), opts_.endpoints, opts_.http, opts_.backoff) {}
  etcd_v2_kv(const etcd_v2_kv&) = delete;
  etcd_v2_kv& operator=(const etcd_v2_kv&) = delete;

  std::string describe() const { return "etcd v2 at " + pool_.describe(); }
  static std::string_view api() { return "v2"; }
  std::string config_key() const { return opts_.config_key(); }
  int max_claim_attempts() const { return opts_.max_claim_attempts; }
  prng& random() { return sched_.random(); }
  // A 404 without JSON was seen: no v2 keys API here (etcd 3.4+ without --enable-v2).
  bool api_absent() const { return api_absent_; }

  task<std::optional<std::string>> get_config() {
    auto n = co_await node_at(opts_.config_key(), "read the network config");
    if (!n.node) co_return std::nullopt;
    co_return n.node->value;
  }

  task<std::optional<lease>> get(net::ipv4_cidr subnet) {
    auto n = co_await node_at(key_of(subnet), "read the lease key");
    if (!n.node) co_return std::nullopt;
    co_return to_lease(*n.node);
  }

  task<lease_list> list() {  // v2 answers every TTL with its key anyway
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

  task<lease_list> list_one(net::ipv4_cidr subnet) {
    auto a = co_await call("GET", keys_path(key_of(subnet)), "");
    lease_list out;
    if (a.answer.error_code != 100) check(a, "read the lease key");
    out.revision = a.etcd_index ? a.etcd_index : a.answer.index;
    out.store = {a.cluster_id, out.revision};
    if (a.answer.error_code == 0 && a.answer.node)
      if (auto l = to_lease(*a.answer.node)) out.leases.push_back(std::move(*l));
    co_return out;
  }

  task<std::optional<lease>> create(net::ipv4_cidr subnet, const std::string& value,
                                    std::chrono::seconds ttl) {
    auto a = co_await call("PUT", keys_path(key_of(subnet)) + "?prevExist=false", form(value, ttl));
    if (a.answer.error_code == 0 && a.answer.node) co_return made(*a.answer.node, a.ctx);
    if (a.answer.error_code != 105) check(a, "create the lease key");
    co_return std::nullopt;
  }

  task<std::optional<lease>> replace(const lease& l, const std::string& value,
                                     std::chrono::seconds ttl) {
    auto q = "?prevIndex=" + std::to_string(l.revision);
    auto a = co_await call("PUT", keys_path(key_of(l.subnet)) + q, form(value, ttl));
    if (a.answer.error_code == 0 && a.answer.node) co_return made(*a.answer.node, a.ctx);
    if (a.answer.error_code != 100 && a.answer.error_code != 101) check(a, "refresh our lease");
    co_return std::nullopt;
  }

  task<void> remove(const lease& l) {
    auto q = "?prevIndex=" + std::to_string(l.revision);
    co_await call("DELETE", keys_path(key_of(l.subnet)) + q, "");
  }

  // prevValue: only our own value is refreshed; a key someone else re-created is not ours.
  task<wall_time> keepalive(const lease& l, std::chrono::seconds ttl) {
    const std::string key = key_of(l.subnet), value = format_lease_value(l.attrs);
    auto q = "?prevValue=" + alivpc::detail::percent_encode(value);
    auto a = co_await call("PUT", keys_path(key) + q, form(value, ttl));
    if (a.answer.error_code == 100)
      fail(error_kind::not_found, a.ctx + ": the lease key " + key + " expired or was deleted");
    if (a.answer.error_code == 101)
      fail(error_kind::not_found,
           a.ctx + ": the lease key " + key + " now belongs to another node");
    check(a, "renew the lease");
    if (!a.answer.node) detail::bad_answer(a.ctx, "renew answer without node");
    co_return *made(*a.answer.node, a.ctx).expiration;
  }

  // Deletes our key, only while it still holds our value.
  task<void> release(const lease& l) {
    auto q = "?prevValue=" + alivpc::detail::percent_encode(format_lease_value(l.attrs));
    auto a = co_await call("DELETE", keys_path(key_of(l.subnet)) + q, "");
    if (a.answer.error_code != 100 && a.answer.error_code != 101) check(a, "delete the lease key");
  }

  task<kv_changes> watch(std::int64_t revision) {
    return watch_path(opts_.subnets_dir(), "&recursive=true", revision);
  }

  task<kv_changes> watch_one(net::ipv4_cidr subnet, std::int64_t revision) {
    return watch_path(key_of(subnet), "", revision);
  }

  // --- coordination_kv (route_coordination.hpp): keys beside subnets/, never under it ---------

  std::string network_prefix() const { return opts_.prefix; }

  task<std::optional<kv_entry>> create_ttl_key(const std::string& key, const std::string& value,
                                               std::chrono::seconds ttl) {
    auto put = call("PUT", keys_path(key) + "?prevExist=false", form(value, ttl));
    auto a = co_await std::move(put);
    if (a.answer.error_code == 105) co_return std::nullopt;  // exists
    check(a, "create the key");
    co_return written(a, value);
  }

  task<kv_read> get_key(const std::string& key) {
    auto read = node_at(key, "read the key");
    auto n = co_await std::move(read);
    kv_read out{std::nullopt, n.etcd_index};
    if (n.node && !n.node->dir) out.entry = entry_of(*n.node);
    co_return out;
  }

  task<bool> watch_key(const std::string& key, std::int64_t revision) {
    auto watch = watch_path(key, "", revision);
    auto changes = co_await std::move(watch);
    co_return changes.compacted || changes.revision > revision;
  }

  // A refresh (no watcher wakes) only while the key's index and value are still e's.
  task<std::optional<kv_entry>> refresh_ttl_key(const kv_entry& e, std::chrono::seconds ttl) {
    const std::string q = "?refresh=true&prevExist=true&prevIndex=" + std::to_string(e.revision) +
                          "&prevValue=" + alivpc::detail::percent_encode(e.value);
    auto put = call("PUT", keys_path(e.key) + q, "ttl=" + std::to_string(ttl.count()));
    auto a = co_await std::move(put);
    if (a.answer.error_code == 100 || a.answer.error_code == 101) co_return std::nullopt;
    check(a, "refresh the key's TTL");
    co_return written(a, e.value);
  }

  task<void> delete_key_if_unchanged(const kv_entry& e) {
    const std::string q = "?prevIndex=" + std::to_string(e.revision) +
                          "&prevValue=" + alivpc::detail::percent_encode(e.value);
    auto del = call("DELETE", keys_path(e.key) + q, "");
    auto a = co_await std::move(del);
    if (a.answer.error_code == 100 || a.answer.error_code == 101) co_return;  // not ours now
    check(a, "delete the key");
  }

  task<void> put_key(const std::string& key, const std::string& value) {
    auto put = call("PUT", keys_path(key), "value=" + alivpc::detail::percent_encode(value));
    auto a = co_await std::move(put);
    check(a, "write the key");
  }

  task<void> delete_key(const std::string& key) {
    auto del = call("DELETE", keys_path(key), "");
    auto a = co_await std::move(del);
    if (a.answer.error_code != 100) check(a, "delete the key");
  }

  task<std::vector<kv_entry>> list_keys(const std::string& dir) {
    auto get = call("GET", keys_path(dir) + "?recursive=true", "");
    auto a = co_await std::move(get);
    std::vector<kv_entry> out;
    if (a.answer.error_code == 100) co_return out;  // no such directory yet
    check(a, "list the directory");
    if (a.answer.node)
      for (const auto& n : a.answer.node->nodes)
        if (!n.dir) out.push_back(entry_of(n));
    co_return out;
  }

 private:
  // A long poll on one key, or on a directory with `options` "&recursive=true".
  task<kv_changes> watch_path(std::string key, std::string options, std::int64_t revision) {
    const auto deadline = sched_.now() + opts_.watch_wait;
    const std::string target =
        keys_path(key) + "?wait=true" + options + "&waitIndex=" + std::to_string(revision + 1);
    std::optional<error> last_error;
    while (sched_.now() < deadline) {
      auto& c = pool_.current();
      const std::string ctx =
          "etcd v2 GET " + keys_path(key) + " (watch) on " + c.endpoint().to_string();
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
        // The stream broke (or never opened): the caller hears it at once and reads the key
        // again, from the next endpoint. Waiting out the bound in here would hide an etcd
        // rebuilt on the same address (its revisions start again below our watch's) for
        // minutes.
        pool_.note_failure(*last_error, sched_.now());
        c.reset();
        pool_.advance();
        throw *last_error;
      }
      // Status and content type first: an etcd without --enable-v2 answers "404 page not found"
      // as text, a proxy an HTML 502. Taking those for "no events" would make the caller
      // watch again at once, in a tight loop.
      if (status != 0) check_json_answer(status, content_type, body, ctx);
      // A body cut short by our time limit holds no complete event: nothing happened.
      auto j = alivpc::detail::parse_json_bounded(body, error_kind::parse, ctx);
      kv_changes out;
      out.store = seen_store;
      if (body.empty() || j.is_discarded()) co_return out;
      auto ans = detail::parse_v2_answer(body, ctx);
      out.compacted = ans.error_code == 401;  // history cleared
      if (out.compacted) co_return out;
      if (ans.error_code != 0 || status >= 300)
        fail(status >= 500 ? error_kind::transient : error_kind::permanent,
             ctx + ": etcd answered HTTP " + std::to_string(status) + ": " + ans.message);
      if (!ans.node) detail::bad_answer(ctx, "watch event without node", body);
      out.revision = ans.node->modified_index;
      const bool gone =
          ans.action == "delete" || ans.action == "expire" || ans.action == "compareAndDelete";
      if (gone) {
        const std::string& old_value = ans.prev_node ? ans.prev_node->value : std::string();
        if (auto l = detail::lease_from_entry(ans.node->key, opts_.subnets_dir(), old_value)) {
          l->revision = ans.node->modified_index;
          if (ans.prev_node) l->create_revision = ans.prev_node->created_index;
          if (ans.action == "expire") l->expiration = sched_.wall_now();
          out.changes.push_back(
              {lease_event_type::removed, std::move(*l), ans.prev_node.has_value()});
        }
      } else if (auto l = to_lease(*ans.node)) {
        out.changes.push_back({lease_event_type::added, std::move(*l)});
      }
      co_return out;
    }
    if (last_error) throw *last_error;
    co_return kv_changes{};
  }

  struct v2_call {
    unsigned status = 0;
    detail::v2_answer answer;
    std::string ctx;
    std::int64_t etcd_index = 0;  // X-Etcd-Index
    std::string cluster_id;       // X-Etcd-Cluster-Id
  };

  kv_entry entry_of(const detail::v2_node& n) const {
    kv_entry e{n.key, n.value, n.modified_index, 0, std::nullopt};
    if (n.ttl) e.expiration = sched_.wall_now() + std::chrono::seconds(*n.ttl);
    return e;
  }
  // The node a write answered; a refresh may leave out the value it kept.
  kv_entry written(const v2_call& a, const std::string& value) const {
    if (!a.answer.node) detail::bad_answer(a.ctx, "write answer without node");
    auto e = entry_of(*a.answer.node);
    if (e.value.empty()) e.value = value;
    return e;
  }

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
  static std::string form(const std::string& value, std::chrono::seconds ttl) {
    return "value=" + alivpc::detail::percent_encode(value) + "&ttl=" + std::to_string(ttl.count());
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

  // One key; nullopt when it does not exist.
  // A key as read (no node: absent), and the X-Etcd-Index of the read: a watch starts there.
  struct node_read {
    std::optional<detail::v2_node> node;
    std::int64_t etcd_index = 0;
  };
  task<node_read> node_at(std::string key, const char* what) {
    auto a = co_await call("GET", keys_path(key), "");
    if (a.answer.error_code == 100) co_return node_read{std::nullopt, a.etcd_index};
    check(a, what);
    if (!a.answer.node) detail::bad_answer(a.ctx, std::string(what) + ": answer without node");
    co_return node_read{std::move(a.answer.node), a.etcd_index};
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

  lease made(const detail::v2_node& n, const std::string& ctx) {
    auto l = to_lease(n);
    if (!l) detail::bad_answer(ctx, "written key " + n.key.substr(0, 100) + " is not a subnet key");
    if (!l->expiration) detail::bad_answer(ctx, "written lease key has no TTL");
    return *l;
  }

  asio_scheduler& sched_;
  etcd_options opts_;
  http::endpoint_pool pool_;
  bool api_absent_ = false;  // answered 404 without JSON: no v2 keys API here
};

static_assert(lease_kv<etcd_v2_kv>);
using etcd_v2_store = basic_lease_store<etcd_v2_kv>;
static_assert(lease_store<etcd_v2_store>);
static_assert(coordination_kv<etcd_v2_kv>);
static_assert(route_coordination<etcd_v2_store>);

}  // namespace alivpc::lease
