// A lease_store that reports each call to an observer (see runtime/observed.hpp), and its
// route_coordination calls too when the inner store has them.
#pragma once

#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/route_coordination.hpp>
#include <alivpc/runtime/observed.hpp>

namespace alivpc::lease {

template <lease_store Store, call_observer Observer>
class observed_store {
 public:
  observed_store(Store& inner, Observer& observer) : inner_(inner), o_(observer) {}

  task<config::network_config> get_network_config() {
    return observe(o_, "get_network_config", inner_.get_network_config());
  }
  task<lease_list> list_leases() { return observe(o_, "list_leases", inner_.list_leases()); }
  task<lease_list> list_lease(net::ipv4_cidr subnet) {
    return observe(o_, "list_lease", inner_.list_lease(subnet));
  }
  task<lease> acquire_lease(const config::network_config& cfg, const lease_attrs& attrs,
                            std::optional<net::ipv4_cidr> previous, std::chrono::seconds ttl) {
    return observe(o_, "acquire_lease", inner_.acquire_lease(cfg, attrs, previous, ttl));
  }
  task<lease> renew_lease(const lease& l, std::chrono::seconds ttl) {
    return observe(o_, "renew_lease", inner_.renew_lease(l, ttl));
  }
  task<void> revoke_lease(const lease& l) {
    return observe(o_, "revoke_lease", inner_.revoke_lease(l));
  }
  task<watch_result> watch_leases(std::int64_t revision) {
    return observe(o_, "watch_leases", inner_.watch_leases(revision));
  }
  task<watch_result> watch_lease(net::ipv4_cidr subnet, std::int64_t revision) {
    return observe(o_, "watch_lease", inner_.watch_lease(subnet, revision));
  }

  task<std::optional<leadership>> campaign(
      const std::string& holder, std::chrono::seconds ttl) requires route_coordination<Store> {
    return observe(o_, "campaign", inner_.campaign(holder, ttl));
  }
  task<std::optional<leadership>> current_leader() requires route_coordination<Store> {
    return observe(o_, "current_leader", inner_.current_leader());
  }
  task<leadership> renew_leadership(const leadership& l,
                                    std::chrono::seconds ttl) requires route_coordination<Store> {
    return observe(o_, "renew_leadership", inner_.renew_leadership(l, ttl));
  }
  task<void> resign(const leadership& l) requires route_coordination<Store> {
    return observe(o_, "resign", inner_.resign(l));
  }
  task<void> put_route_state(net::ipv4_cidr subnet,
                             const std::string& value) requires route_coordination<Store> {
    return observe(o_, "put_route_state", inner_.put_route_state(subnet, value));
  }
  task<void> delete_route_state(net::ipv4_cidr subnet) requires route_coordination<Store> {
    return observe(o_, "delete_route_state", inner_.delete_route_state(subnet));
  }
  task<route_state_read> route_state(net::ipv4_cidr subnet) requires route_coordination<Store> {
    return observe(o_, "route_state", inner_.route_state(subnet));
  }
  task<bool> watch_route_state(net::ipv4_cidr subnet,
                               std::int64_t revision) requires route_coordination<Store> {
    return observe(o_, "watch_route_state", inner_.watch_route_state(subnet, revision));
  }
  task<std::map<net::ipv4_cidr, std::string>> route_states() requires route_coordination<Store> {
    return observe(o_, "route_states", inner_.route_states());
  }

 private:
  Store& inner_;
  Observer& o_;
};

}  // namespace alivpc::lease
