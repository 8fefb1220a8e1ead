// A cloud_route_api that passes every call through and remembers, per route table, how many
// custom entries it held when last listed whole: the route-table-full alert needs that number,
// and the backend lists every table whole on a lease's first pass and every
// backend_options::full_listing_period anyway, so it costs no extra API call.
#pragma once

#include <alivpc/cloud/route_api.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace flanneld_alivpc {

template <alivpc::cloud::cloud_route_api Cloud>
class route_table_census {
 public:
  explicit route_table_census(Cloud& inner) : inner_(inner) {}

  alivpc::task<void> ensure_credentials() { return inner_.ensure_credentials(); }
  alivpc::task<alivpc::cloud::instance_identity> identity() { return inner_.identity(); }
  alivpc::task<alivpc::cloud::vpc_info> describe_vpc(const std::string& id) {
    return inner_.describe_vpc(id);
  }
  alivpc::task<std::vector<std::string>> list_route_table_ids(const std::string& id) {
    return inner_.list_route_table_ids(id);
  }
  alivpc::task<std::vector<alivpc::cloud::route_entry>> list_route_entries(
      std::string table, alivpc::cloud::route_entry_filter filter) {
    auto entries = co_await inner_.list_route_entries(table, filter);
    if (!filter.empty()) co_return entries;  // a part of the table says nothing of its size
    custom_entries_[table] = static_cast<std::size_t>(
        std::count_if(entries.begin(), entries.end(), [](const alivpc::cloud::route_entry& e) {
          return e.type == alivpc::cloud::route_entry_type::custom;
        }));
    co_return entries;
  }
  alivpc::task<void> create_route_entry(const alivpc::cloud::route_spec& r) {
    return inner_.create_route_entry(r);
  }
  alivpc::task<void> delete_route_entry(const alivpc::cloud::route_spec& r) {
    return inner_.delete_route_entry(r);
  }
  // Batches (the route leader's), when the cloud has them.
  alivpc::task<alivpc::cloud::route_batch_result> create_route_entries(
      std::vector<alivpc::cloud::route_spec> routes) requires
      alivpc::cloud::batch_route_api<Cloud> {
    return inner_.create_route_entries(std::move(routes));
  }
  alivpc::task<alivpc::cloud::route_batch_result> delete_route_entries(
      std::vector<alivpc::cloud::route_spec> routes) requires
      alivpc::cloud::batch_route_api<Cloud> {
    return inner_.delete_route_entries(std::move(routes));
  }

  const std::map<std::string, std::size_t>& custom_entries() const noexcept {
    return custom_entries_;
  }

 private:
  Cloud& inner_;
  std::map<std::string, std::size_t> custom_entries_;
};

}  // namespace flanneld_alivpc
