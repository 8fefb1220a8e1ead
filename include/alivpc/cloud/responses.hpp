// Typed answers of the VPC/ECS OpenAPI actions the route backend uses, parsed from JSON.
//
// Unknown fields are ignored. A missing or mistyped field that we need is an
// alivpc::error(parse) naming the action and the field path; an absent or null list wrapper is
// an empty list (the service drops empty lists). Nothing here throws a nlohmann exception.
#pragma once

#include <alivpc/cloud/detail/json_fields.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/net/ipv4.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::cloud {

// {"RequestId","HostId","Code","Message"} of a failed call; every field may be absent.
struct error_body {
  std::string request_id;
  std::string code;
  std::string message;
};

struct vpc_record {
  std::string vpc_id;
  std::string region_id;
  std::string status;
  std::string cidr_block;  // as given; may be empty for IPv6-only VPCs
  std::string vrouter_id;
  std::vector<std::string> vswitch_ids;
  std::vector<std::string> route_table_ids;
};

struct describe_vpcs_answer {
  std::string request_id;
  std::optional<std::int64_t> total_count;
  std::vector<vpc_record> vpcs;
};

struct vrouter_record {
  std::string vrouter_id;
  std::string vpc_id;
  std::vector<std::string> route_table_ids;
};

struct describe_vrouters_answer {
  std::string request_id;
  std::optional<std::int64_t> total_count;
  std::vector<vrouter_record> vrouters;
};

struct route_table_record {
  std::string route_table_id;
  std::string route_table_type;  // System / Custom
  std::string vrouter_id;
  std::vector<route_entry> entries;
};

struct describe_route_tables_answer {
  std::string request_id;
  std::optional<std::int64_t> total_count, page_number, page_size;
  std::vector<route_table_record> tables;
};

struct route_table_list_record {
  std::string route_table_id;
  std::string route_table_type;
  std::string router_id;
  std::string vpc_id;
};

struct describe_route_table_list_answer {
  std::string request_id;
  std::optional<std::int64_t> total_count, page_number, page_size;
  std::vector<route_table_list_record> tables;
};

struct describe_route_entry_list_answer {
  std::string request_id;
  std::string next_token;  // empty: last page
  std::vector<route_entry> entries;
};

struct create_route_entry_answer {
  std::string request_id;
  std::string route_entry_id;  // newer API versions only
};

// CreateRouteEntries / DeleteRouteEntries.
struct batch_failed_entry {
  std::string destination;  // DstCidrBlock (may be empty for a delete by RouteEntryId)
  std::string next_hop;     // NextHop (may be empty)
  std::string code;         // FailedCode
  std::string message;      // FailedMessage
};

struct route_entries_batch_answer {
  std::string request_id;
  std::optional<std::int64_t> success_count, failed_count;
  std::vector<std::string> route_entry_ids;
  std::vector<batch_failed_entry> failed;
};

// ---- field vocabularies ----------------------------------------------------------------------

inline route_entry_status parse_route_entry_status(std::string_view s) {
  if (s == "Available") return route_entry_status::available;
  if (s == "Pending") return route_entry_status::pending;
  if (s == "Modifying") return route_entry_status::modifying;
  if (s == "Deleting") return route_entry_status::deleting;
  return route_entry_status::unknown;
}

inline route_entry_type parse_route_entry_type(std::string_view s) {
  if (s == "Custom") return route_entry_type::custom;
  if (s == "System") return route_entry_type::system;
  if (s == "BGP") return route_entry_type::bgp;
  return route_entry_type::other;
}

namespace detail {

inline std::vector<std::string> string_list(const json_view& v, std::string_view outer,
                                            std::string_view inner) {
  std::vector<std::string> out;
  v.for_each_in(outer, inner, [&](const json_view& e) { out.push_back(e.as_string()); });
  return out;
}

inline net::ipv4_cidr cidr_field(const json_view& v, std::string_view name, std::string_view what) {
  auto field = v.at(name);
  auto text = field.as_string();
  auto cidr = net::ipv4_cidr::try_parse(text);
  if (!cidr)
    fail(error_kind::parse, std::string(what) + " answer: field " + field.path() + ": \"" +
                                text.substr(0, 64) + "\" is not an IPv4 CIDR");
  return *cidr;
}

// One RouteEntry of DescribeRouteTables or DescribeRouteEntryList. The next hop is in
// NextHopType/InstanceId (old shape) or NextHops.NextHop[0] (new shape); take either.
inline std::optional<route_entry> parse_route_entry(const json_view& e, std::string_view table_id,
                                                    std::string_view what) {
  // IPv6 entries share the list; the route backend manages IPv4 only.
  auto dest = e.at("DestinationCidrBlock").as_string();
  if (dest.find(':') != std::string::npos) return std::nullopt;
  route_entry r;
  r.destination = cidr_field(e, "DestinationCidrBlock", what);
  r.route_table_id = e.string_or("RouteTableId", std::string(table_id));
  r.route_entry_id = e.string_or("RouteEntryId");
  r.type = parse_route_entry_type(e.string_or("Type"));
  r.status = parse_route_entry_status(e.string_or("Status"));
  r.next_hop_type = e.string_or("NextHopType");
  r.next_hop_id = e.string_or("InstanceId");
  bool first = true;
  e.for_each_in("NextHops", "NextHop", [&](const json_view& hop) {
    if (!first) return;
    first = false;
    auto id = hop.string_or("NextHopId");
    auto type = hop.string_or("NextHopType");
    if (r.next_hop_id.empty()) r.next_hop_id = id;
    if (r.next_hop_type.empty()) r.next_hop_type = type;
  });
  return r;
}

}  // namespace detail

// ---- parsers ---------------------------------------------------------------------------------

// Best effort: an error answer that is not JSON still yields an (empty) error_body.
inline error_body parse_error_body(std::string_view body) {
  error_body out;
  nlohmann::json j;  // nested too deep: treated like a body that is not JSON
  try {
    j = alivpc::detail::parse_json_bounded(body, error_kind::parse, "error answer");
  } catch (const error&) {
  }
  if (j.is_discarded() || !j.is_object()) return out;
  auto text = [&](const char* name) -> std::string {
    auto it = j.find(name);
    if (it == j.end()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
    return {};
  };
  out.request_id = text("RequestId");
  out.code = text("Code");
  out.message = text("Message");
  return out;
}

inline describe_vpcs_answer parse_describe_vpcs(std::string_view body) {
  constexpr std::string_view what = "DescribeVpcs";
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  describe_vpcs_answer out;
  out.request_id = v.string_or("RequestId");
  out.total_count = v.int_if("TotalCount");
  v.for_each_in("Vpcs", "Vpc", [&](const detail::json_view& e) {
    vpc_record r;
    r.vpc_id = e.string_at("VpcId");
    r.region_id = e.string_or("RegionId");
    r.status = e.string_or("Status");
    r.cidr_block = e.string_or("CidrBlock");
    r.vrouter_id = e.string_at("VRouterId");
    r.vswitch_ids = detail::string_list(e, "VSwitchIds", "VSwitchId");
    r.route_table_ids = detail::string_list(e, "RouterTableIds", "RouterTableIds");
    out.vpcs.push_back(std::move(r));
  });
  return out;
}

inline describe_vrouters_answer parse_describe_vrouters(std::string_view body) {
  constexpr std::string_view what = "DescribeVRouters";
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  describe_vrouters_answer out;
  out.request_id = v.string_or("RequestId");
  out.total_count = v.int_if("TotalCount");
  v.for_each_in("VRouters", "VRouter", [&](const detail::json_view& e) {
    vrouter_record r;
    r.vrouter_id = e.string_at("VRouterId");
    r.vpc_id = e.string_or("VpcId");
    r.route_table_ids = detail::string_list(e, "RouteTableIds", "RouteTableId");
    out.vrouters.push_back(std::move(r));
  });
  return out;
}

inline describe_route_tables_answer parse_describe_route_tables(std::string_view body) {
  constexpr std::string_view what = "DescribeRouteTables";
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  describe_route_tables_answer out;
  out.request_id = v.string_or("RequestId");
  out.total_count = v.int_if("TotalCount");
  out.page_number = v.int_if("PageNumber");
  out.page_size = v.int_if("PageSize");
  v.for_each_in("RouteTables", "RouteTable", [&](const detail::json_view& t) {
    route_table_record r;
    r.route_table_id = t.string_at("RouteTableId");
    r.route_table_type = t.string_or("RouteTableType");
    r.vrouter_id = t.string_or("VRouterId");
    t.for_each_in("RouteEntrys", "RouteEntry", [&](const detail::json_view& e) {
      if (auto entry = detail::parse_route_entry(e, r.route_table_id, what))
        r.entries.push_back(std::move(*entry));
    });
    out.tables.push_back(std::move(r));
  });
  return out;
}

inline describe_route_table_list_answer parse_describe_route_table_list(std::string_view body) {
  constexpr std::string_view what = "DescribeRouteTableList";
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  describe_route_table_list_answer out;
  out.request_id = v.string_or("RequestId");
  out.total_count = v.int_if("TotalCount");
  out.page_number = v.int_if("PageNumber");
  out.page_size = v.int_if("PageSize");
  v.for_each_in("RouterTableList", "RouterTableListType", [&](const detail::json_view& t) {
    route_table_list_record r;
    r.route_table_id = t.string_at("RouteTableId");
    r.route_table_type = t.string_or("RouteTableType");
    r.router_id = t.string_or("RouterId");
    r.vpc_id = t.string_or("VpcId");
    out.tables.push_back(std::move(r));
  });
  return out;
}

// parse_describe_route_entry_list: detail/route_entry_list_reader.hpp (read as it streams).

inline create_route_entry_answer parse_create_route_entry(std::string_view body) {
  constexpr std::string_view what = "CreateRouteEntry";
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  return {v.string_or("RequestId"), v.string_or("RouteEntryId")};
}

// `what` is the action ("CreateRouteEntries" / "DeleteRouteEntries"), for messages.
inline route_entries_batch_answer parse_route_entries_batch(std::string_view body,
                                                            std::string_view what) {
  auto j = detail::parse_json(body, what);
  detail::json_view v(j, what);
  route_entries_batch_answer out;
  out.request_id = v.string_or("RequestId");
  out.success_count = v.int_if("SuccessCount");
  out.failed_count = v.int_if("FailedCount");
  // Plain arrays on the wire; a wrapper object ({"RouteEntryId":[...]}) is accepted too.
  v.for_each_in("RouteEntryIds", "RouteEntryId",
                [&](const detail::json_view& e) { out.route_entry_ids.push_back(e.as_string()); });
  v.for_each_in("FailedRouteEntries", "FailedRouteEntry", [&](const detail::json_view& e) {
    out.failed.push_back({e.string_or("DstCidrBlock"), e.string_or("NextHop"),
                          e.string_at("FailedCode"), e.string_or("FailedMessage")});
  });
  return out;
}

// Puts each FailedRouteEntries element on the route it is about. The answer names a route by
// (DstCidrBlock, NextHop) only, so: first by both; then by destination where the answer or the
// route has no next hop; then a failure naming no destination (a delete by RouteEntryId of an
// entry the service no longer knows) goes to the one route sent by id that is neither matched
// nor among the answer's RouteEntryIds. A failure that fits no route, or several, is a parse
// error: which routes were accepted would be a guess.
inline route_batch_result attribute_batch_answer(std::vector<route_spec> routes,
                                                 route_entries_batch_answer a,
                                                 std::string_view what) {
  route_batch_result out;
  out.request_id = std::move(a.request_id);
  out.route_entry_ids = std::move(a.route_entry_ids);
  for (auto& r : routes)
    out.items.push_back({std::move(r), {}, {}});
  std::vector<bool> taken(out.items.size(), false);
  auto candidates = [&](auto&& fits) {
    std::vector<std::size_t> out_;
    for (std::size_t i = 0; i < out.items.size(); ++i)
      if (!taken[i] && fits(out.items[i].route)) out_.push_back(i);
    return out_;
  };
  auto answered_id = [&](const route_spec& r) {
    return std::find(out.route_entry_ids.begin(), out.route_entry_ids.end(), r.route_entry_id) !=
           out.route_entry_ids.end();
  };
  for (auto& f : a.failed) {
    auto dest = net::ipv4_cidr::try_parse(f.destination);
    std::vector<std::size_t> fit;
    if (dest) {
      fit = candidates([&](const route_spec& r) {
        return r.destination == *dest && r.next_hop_id == f.next_hop;
      });
      if (fit.empty())
        fit = candidates([&](const route_spec& r) {
          return r.destination == *dest && (f.next_hop.empty() || r.next_hop_id.empty());
        });
      // The same route twice: the first unmatched one. (Not resize(1): GCC 12 at -O3 warns that
      // it writes out of bounds, which failed make bench's -Werror build.)
      if (fit.size() > 1) fit.erase(fit.begin() + 1, fit.end());
    } else if (f.destination.empty()) {
      fit = candidates(
          [&](const route_spec& r) { return !r.route_entry_id.empty() && !answered_id(r); });
    }
    if (fit.size() != 1)
      fail(error_kind::parse,
           std::string(what) + " answer: FailedRouteEntries names DstCidrBlock \"" +
               f.destination.substr(0, 64) + "\" NextHop \"" + f.next_hop.substr(0, 64) + "\" (" +
               f.code.substr(0, 64) + "), which is " +
               (fit.empty() ? "no route of the request (or one named twice)"
                            : "one of several routes sent by RouteEntryId"));
    taken[fit[0]] = true;
    out.items[fit[0]].failure_code = std::move(f.code);
    out.items[fit[0]].failure_message = std::move(f.message);
  }
  return out;
}

// Any answer whose content we do not need (DeleteRouteEntry): it must still be a JSON object.
inline std::string parse_request_id(std::string_view body, std::string_view what) {
  auto j = detail::parse_json(body, what);
  return detail::json_view(j, what).string_or("RequestId");
}

}  // namespace alivpc::cloud
