// A lease's BackendData: JSON that flannel keeps opaque, kept whole (every member survives a
// rewrite of the lease), immutable and shared. Leases are copied in bulk (a node's join reads
// every lease to find a free subnet; the route leader reads every lease each pass), and a copied
// JSON object is an allocation per member and more; a copy of this is a reference count.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace alivpc::lease {

class backend_data {
 public:
  backend_data() = default;  // null
  // Implicit, as BackendData was a json before: `attrs.backend_data = some_json;` still works.
  backend_data(nlohmann::json j)
      : held_(j.is_null() ? nullptr : std::make_shared<const held>(std::move(j))) {}
  // {{"InstanceId", "i-1"}} builds an object, as it does for nlohmann::json.
  backend_data(nlohmann::json::initializer_list_t members)
      : backend_data(nlohmann::json(members)) {}

  const nlohmann::json& json() const { return held_ ? held_->value : null_json(); }
  std::string dump() const { return json().dump(); }
  // The members alivpc writes and reads ({"InstanceId": "i-...", "NextHopType": "Instance"}),
  // found once: empty when absent or not a string.
  std::string_view instance_id() const { return held_ ? held_->instance_id : std::string_view(); }
  std::string_view next_hop_type() const {
    return held_ ? held_->next_hop_type : std::string_view();
  }

  friend bool operator==(const backend_data& a, const backend_data& b) {
    return a.held_ == b.held_ || a.json() == b.json();
  }

 private:
  struct held {
    explicit held(nlohmann::json j)
        : value(std::move(j)),
          instance_id(string_member("InstanceId")),
          next_hop_type(string_member("NextHopType")) {}
    std::string string_member(const char* name) const {
      if (!value.is_object()) return {};
      auto it = value.find(name);
      return it != value.end() && it->is_string() ? it->get<std::string>() : std::string();
    }
    nlohmann::json value;
    std::string instance_id, next_hop_type;
  };
  static const nlohmann::json& null_json() {
    static const nlohmann::json null;
    return null;
  }
  std::shared_ptr<const held> held_;  // none for null
};

}  // namespace alivpc::lease
