// Reading fields out of an untrusted JSON answer without letting nlohmann exceptions escape:
// every accessor throws alivpc::error(parse) naming the answer and the field path.
#pragma once

#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/error.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace alivpc::cloud::detail {

inline std::string_view json_type_name(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "an unexpected value";
  }
}

// A cursor into an answer that knows its own path, for messages like
// "DescribeVpcs answer: field Vpcs.Vpc[0].VpcId: expected a string, got a number".
class json_view {
 public:
  json_view(const nlohmann::json& j, std::string_view what, std::string path = {})
      : j_(&j), what_(what), path_(std::move(path)) {}

  const nlohmann::json& raw() const noexcept { return *j_; }
  const std::string& path() const noexcept { return path_; }

  [[noreturn]] void fail_here(std::string_view expected) const {
    fail(error_kind::parse, std::string(what_) + " answer: field " +
                                (path_.empty() ? std::string("(top level)") : path_) +
                                ": expected " + std::string(expected) + ", got " +
                                std::string(json_type_name(*j_)));
  }
  [[noreturn]] void fail_missing(std::string_view name) const {
    fail(error_kind::parse,
         std::string(what_) + " answer: field " + child_path(name) + " is missing");
  }

  // A member that must be there.
  json_view at(std::string_view name) const {
    auto c = find(name);
    if (!c) fail_missing(name);
    return *c;
  }
  // A member that may be absent or null.
  std::optional<json_view> find(std::string_view name) const {
    if (!j_->is_object()) fail_here("an object");
    auto it = j_->find(name);
    if (it == j_->end() || it->is_null()) return std::nullopt;
    return json_view(*it, what_, child_path(name));
  }

  std::string as_string() const {
    if (!j_->is_string()) fail_here("a string");
    return j_->get_ref<const std::string&>();
  }
  // Integers come as numbers or as decimal strings depending on the API.
  std::int64_t as_int() const {
    if (j_->is_number_integer()) return j_->get<std::int64_t>();
    if (j_->is_number_unsigned()) {
      auto v = j_->get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(INT64_MAX)) fail_here("an integer in range");
      return static_cast<std::int64_t>(v);
    }
    if (j_->is_string()) {
      const auto& s = j_->get_ref<const std::string&>();
      if (s.empty() || s.size() > 18) fail_here("an integer");
      std::int64_t v = 0;
      for (char c : s) {
        if (c < '0' || c > '9') fail_here("an integer");
        v = v * 10 + (c - '0');
      }
      return v;
    }
    fail_here("an integer");
  }
  bool as_bool() const {
    if (j_->is_boolean()) return j_->get<bool>();
    if (j_->is_string()) {
      const auto& s = j_->get_ref<const std::string&>();
      if (s == "true") return true;
      if (s == "false") return false;
    }
    fail_here("a boolean");
  }

  std::string string_at(std::string_view name) const { return at(name).as_string(); }
  std::string string_or(std::string_view name, std::string fallback = {}) const {
    auto c = find(name);
    return c ? c->as_string() : std::move(fallback);
  }
  std::optional<std::int64_t> int_if(std::string_view name) const {
    auto c = find(name);
    return c ? std::optional(c->as_int()) : std::nullopt;
  }

  // Calls fn(json_view) for each element of the array at outer.inner ("RouteEntrys.RouteEntry"),
  // the shape every Describe* answer uses. An absent or null wrapper means an empty list.
  template <class Fn>
  void for_each_in(std::string_view outer, std::string_view inner, Fn&& fn) const {
    auto wrapper = find(outer);
    if (!wrapper) return;
    // Some gateways drop the wrapper object and put the array directly.
    if (wrapper->raw().is_array()) return wrapper->for_each(fn);
    auto list = wrapper->find(inner);
    if (!list) return;
    list->for_each(fn);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    if (!j_->is_array()) fail_here("an array");
    for (std::size_t i = 0; i < j_->size(); ++i)
      fn(json_view((*j_)[i], what_, path_ + "[" + std::to_string(i) + "]"));
  }

 private:
  std::string child_path(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  const nlohmann::json* j_;
  std::string_view what_;
  std::string path_;
};

// Parses a body; malformed JSON is a parse error naming the answer (never the body itself).
inline nlohmann::json parse_json(std::string_view body, std::string_view what) {
  auto j =
      alivpc::detail::parse_json_bounded(body, error_kind::parse, std::string(what) + " answer");
  if (j.is_discarded())
    fail(error_kind::parse, std::string(what) + " answer is not valid JSON (" +
                                std::to_string(body.size()) + " bytes)");
  if (!j.is_object())
    fail(error_kind::parse, std::string(what) + " answer: expected a JSON object, got " +
                                std::string(json_type_name(j)));
  return j;
}

}  // namespace alivpc::cloud::detail
