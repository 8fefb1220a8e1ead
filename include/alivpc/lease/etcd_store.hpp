// --etcd-api=v3|v2|auto: one lease_store that talks to etcd through the v3 gateway or the v2
// keys API. auto picks v3 when <prefix>/config exists in the v3 key space, else v2 when it
// exists there (etcd 3.x keeps the two key spaces apart: `etcdctl set` writes v2, `etcdctl put`
// v3); with neither, the error says where it looked and how to publish a config.
#pragma once

#include <alivpc/lease/etcd_v2_store.hpp>
#include <alivpc/lease/etcd_v3_store.hpp>

#include <map>
#include <memory>
#include <string_view>

namespace alivpc::lease {

enum class etcd_api { v3, v2, automatic };

inline etcd_api parse_etcd_api(std::string_view text) {
  if (text == "v3") return etcd_api::v3;
  if (text == "v2") return etcd_api::v2;
  if (text == "auto") return etcd_api::automatic;
  fail(error_kind::invalid_argument,
       "--etcd-api: \"" + std::string(text.substr(0, 40)) + "\": expected v3, v2 or auto");
}

constexpr std::string_view to_string(etcd_api a) {
  return a == etcd_api::v3 ? "v3" : a == etcd_api::v2 ? "v2" : "auto";
}

class etcd_store {
 public:
  etcd_store(asio_scheduler& sched, etcd_options opts, etcd_api api = etcd_api::automatic)
      : sched_(sched), opts_(std::move(opts)), api_(api) {
    if (api_ == etcd_api::v3) make_v3("--etcd-api=v3");
    if (api_ == etcd_api::v2) make_v2("--etcd-api=v2");
  }

  // Resolves --etcd-api=auto (once); the other calls do it on first use. An etcd without the v3
  // gateway (404 on /v3/kv/range) falls back to v2, and one without the v2 API to v3.
  task<void> select() {
    if (v3_ || v2_) co_return;
    auto v3 = std::make_unique<etcd_v3_store>(sched_, opts_);
    auto p3 = co_await v3->probe_config();
    if (p3.text) {
      v3_ = std::move(v3);
      api_ = etcd_api::v3;
      reason_ = "using the etcd v3 API: found " + opts_.config_key() + " in the v3 key space";
      co_return;
    }
    auto v2 = std::make_unique<etcd_v2_store>(sched_, opts_);
    auto p2 = co_await v2->probe_config();
    if (p2.text) {
      v2_ = std::move(v2);
      api_ = etcd_api::v2;
      reason_ =
          "using the etcd v2 API: found " + opts_.config_key() + " in the v2 key space " +
          (p3.api_available ? "(not in v3)" : "(this etcd has no v3 gateway: " + p3.why + ")");
      co_return;
    }
    const std::string key = opts_.config_key();
    if (!p3.api_available && !p2.api_available)
      fail(error_kind::permanent, "neither the etcd v3 gateway nor the v2 keys API answers at " +
                                      v3->describe() + ": " + p3.why + "; " + p2.why);
    if (!p3.api_available) {
      // Not fatal: the v2 API is there, the config may be published there later.
      v2_ = std::move(v2);
      api_ = etcd_api::v2;
      reason_ = "using the etcd v2 API: this etcd has no v3 gateway (" + p3.why + ")";
      co_return;
    }
    if (!p2.api_available) {
      v3_ = std::move(v3);
      api_ = etcd_api::v3;
      reason_ = "using the etcd v3 API: this etcd serves no v2 API";
      co_return;
    }
    fail(error_kind::not_found, "no network config at " + key + " in etcd at " + v3->describe() +
                                    ": looked in the v3 key space and in the v2 key space; "
                                    "publish one with `" +
                                    detail::publish_command("v3", key) + "` (v3) or `" +
                                    detail::publish_command("v2", key) + "` (v2)");
  }

  etcd_api api() const noexcept { return api_; }
  // Which API is in use and why (for the daemon's log).
  const std::string& selection_reason() const noexcept { return reason_; }

  task<config::network_config> get_network_config() {
    co_await select();
    std::optional<error> missing;
    try {
      if (v3_) co_return co_await v3_->get_network_config();
      co_return co_await v2_->get_network_config();
    } catch (const error& e) {
      if (e.kind() != error_kind::not_found) throw;
      missing = e;
    }
    // Not in the key space of the API in use: say so when it is in the other one (etcd 3.x keeps
    // the two apart, and `etcdctl set` writes v2 while `etcdctl put` writes v3).
    bool in_other = false;
    try {
      // Named stores: GCC 12 mishandles temporaries inside co_await expressions.
      if (v3_) {
        etcd_v2_store other(sched_, opts_);
        auto p = co_await other.probe_config();
        in_other = p.text.has_value();
      } else {
        etcd_v3_store other(sched_, opts_);
        auto p = co_await other.probe_config();
        in_other = p.text.has_value();
      }
    } catch (const error&) {
      // The other API is unreachable or absent: the original message stands.
    }
    if (!in_other) throw *missing;
    const bool v3 = v3_ != nullptr;
    fail(error_kind::not_found,
         std::string(missing->what()) + ". Note: " + opts_.config_key() + " exists in the etcd " +
             (v3 ? "v2" : "v3") + " key space (written with " +
             (v3 ? "`ETCDCTL_API=2 etcdctl set`" : "`etcdctl put`") +
             "): run with --etcd-api=" + (v3 ? "v2" : "v3") +
             " or --etcd-api=auto, or publish it in the " + (v3 ? "v3" : "v2") + " key space");
  }
  task<lease_list> list_leases() {
    co_await select();
    if (v3_) co_return co_await v3_->list_leases();
    co_return co_await v2_->list_leases();
  }
  task<lease_list> list_lease(net::ipv4_cidr subnet) {
    co_await select();
    if (v3_) co_return co_await v3_->list_lease(subnet);
    co_return co_await v2_->list_lease(subnet);
  }
  task<lease> acquire_lease(const config::network_config& cfg, const lease_attrs& attrs,
                            std::optional<net::ipv4_cidr> previous, std::chrono::seconds ttl) {
    co_await select();
    if (v3_) co_return co_await v3_->acquire_lease(cfg, attrs, previous, ttl);
    co_return co_await v2_->acquire_lease(cfg, attrs, previous, ttl);
  }
  task<lease> renew_lease(const lease& l, std::chrono::seconds ttl) {
    co_await select();
    if (v3_) co_return co_await v3_->renew_lease(l, ttl);
    co_return co_await v2_->renew_lease(l, ttl);
  }
  task<void> revoke_lease(const lease& l) {
    co_await select();
    if (v3_) co_return co_await v3_->revoke_lease(l);
    co_return co_await v2_->revoke_lease(l);
  }
  task<watch_result> watch_leases(std::int64_t revision) {
    co_await select();
    if (v3_) co_return co_await v3_->watch_leases(revision);
    co_return co_await v2_->watch_leases(revision);
  }
  task<watch_result> watch_lease(net::ipv4_cidr subnet, std::int64_t revision) {
    co_await select();
    if (v3_) co_return co_await v3_->watch_lease(subnet, revision);
    co_return co_await v2_->watch_lease(subnet, revision);
  }

  // route_coordination (route_coordination.hpp), through the API in use.
  task<std::optional<leadership>> campaign(const std::string& holder, std::chrono::seconds ttl) {
    co_await select();
    if (v3_) co_return co_await v3_->campaign(holder, ttl);
    co_return co_await v2_->campaign(holder, ttl);
  }
  task<std::optional<leadership>> current_leader() {
    co_await select();
    if (v3_) co_return co_await v3_->current_leader();
    co_return co_await v2_->current_leader();
  }
  task<leadership> renew_leadership(const leadership& l, std::chrono::seconds ttl) {
    co_await select();
    if (v3_) co_return co_await v3_->renew_leadership(l, ttl);
    co_return co_await v2_->renew_leadership(l, ttl);
  }
  task<void> resign(const leadership& l) {
    co_await select();
    if (v3_) co_return co_await v3_->resign(l);
    co_return co_await v2_->resign(l);
  }
  task<void> put_route_state(net::ipv4_cidr subnet, const std::string& value) {
    co_await select();
    if (v3_) co_return co_await v3_->put_route_state(subnet, value);
    co_return co_await v2_->put_route_state(subnet, value);
  }
  task<void> delete_route_state(net::ipv4_cidr subnet) {
    co_await select();
    if (v3_) co_return co_await v3_->delete_route_state(subnet);
    co_return co_await v2_->delete_route_state(subnet);
  }
  task<route_state_read> route_state(net::ipv4_cidr subnet) {
    co_await select();
    if (v3_) co_return co_await v3_->route_state(subnet);
    co_return co_await v2_->route_state(subnet);
  }
  task<bool> watch_route_state(net::ipv4_cidr subnet, std::int64_t revision) {
    co_await select();
    if (v3_) co_return co_await v3_->watch_route_state(subnet, revision);
    co_return co_await v2_->watch_route_state(subnet, revision);
  }
  task<std::map<net::ipv4_cidr, std::string>> route_states() {
    co_await select();
    if (v3_) co_return co_await v3_->route_states();
    co_return co_await v2_->route_states();
  }

 private:
  void make_v3(const char* why) {
    v3_ = std::make_unique<etcd_v3_store>(sched_, opts_);
    reason_ = std::string("using the etcd v3 API (") + why + ")";
  }
  void make_v2(const char* why) {
    v2_ = std::make_unique<etcd_v2_store>(sched_, opts_);
    reason_ = std::string("using the etcd v2 API (") + why + ")";
  }

  asio_scheduler& sched_;
  etcd_options opts_;
  etcd_api api_;
  std::string reason_;
  std::unique_ptr<etcd_v3_store> v3_;
  std::unique_ptr<etcd_v2_store> v2_;
};

static_assert(lease_store<etcd_store>);
static_assert(route_coordination<etcd_store>);

}  // namespace alivpc::lease
