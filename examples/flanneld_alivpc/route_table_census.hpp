// A cloud_route_api that passes every call through and remembers, per route table, how many
// custom entries it held when last listed: the route-table-full alert needs that number, and the
// backend lists every table on each reconcile anyway, so it costs no extra API call.
#pragma once

#include <alivpc/cloud/route_api.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
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
  alivpc::task<std::vector<alivpc::cloud::route_entry>> list_route_entries(const std::string& id) {
    // Kept in the coroutine frame: the caller's string may be gone once this task suspends.
    // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is the point
    std::string table = id;
    auto entries = co_await inner_.list_route_entries(table);
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

  const std::map<std::string, std::size_t>& custom_entries() const noexcept {
    return custom_entries_;
  }

 private:
  Cloud& inner_;
  std::map<std::string, std::size_t> custom_entries_;
};

}  // namespace flanneld_alivpc
