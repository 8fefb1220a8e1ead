// A lease_store that reports each call to an observer (see runtime/observed.hpp).
#pragma once

#include <alivpc/lease/lease_store.hpp>
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

 private:
  Store& inner_;
  Observer& o_;
};

}  // namespace alivpc::lease
