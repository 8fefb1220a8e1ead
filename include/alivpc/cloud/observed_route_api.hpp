// A cloud_route_api that reports each call to an observer (see runtime/observed.hpp).
#pragma once

#include <alivpc/cloud/route_api.hpp>
#include <alivpc/runtime/observed.hpp>

#include <utility>
#include <vector>

namespace alivpc::cloud {

template <cloud_route_api Cloud, call_observer Observer>
class observed_route_api {
 public:
  observed_route_api(Cloud& inner, Observer& observer) : inner_(inner), o_(observer) {}

  task<void> ensure_credentials() {
    return observe(o_, "ensure_credentials", inner_.ensure_credentials());
  }
  task<instance_identity> identity() { return observe(o_, "identity", inner_.identity()); }
  task<vpc_info> describe_vpc(const std::string& id) {
    return observe(o_, "DescribeVpcs", inner_.describe_vpc(id));
  }
  task<std::vector<std::string>> list_route_table_ids(const std::string& id) {
    return observe(o_, "ListRouteTables", inner_.list_route_table_ids(id));
  }
  task<std::vector<route_entry>> list_route_entries(const std::string& id,
                                                    const route_entry_filter& filter) {
    return observe(o_, "ListRouteEntries", inner_.list_route_entries(id, filter));
  }
  task<void> create_route_entry(const route_spec& r) {
    return observe(o_, "CreateRouteEntry", inner_.create_route_entry(r));
  }
  task<void> delete_route_entry(const route_spec& r) {
    return observe(o_, "DeleteRouteEntry", inner_.delete_route_entry(r));
  }
  // Only when the wrapped cloud has batches: then so does the wrapper.
  task<route_batch_result> create_route_entries(std::vector<route_spec> routes) requires
      batch_route_api<Cloud> {
    return observe(o_, "CreateRouteEntries", inner_.create_route_entries(std::move(routes)));
  }
  task<route_batch_result> delete_route_entries(std::vector<route_spec> routes) requires
      batch_route_api<Cloud> {
    return observe(o_, "DeleteRouteEntries", inner_.delete_route_entries(std::move(routes)));
  }

 private:
  Cloud& inner_;
  Observer& o_;
};

}  // namespace alivpc::cloud
