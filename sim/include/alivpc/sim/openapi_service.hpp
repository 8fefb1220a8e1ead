// The OpenAPI RPC actions of the VPC (2016-04-28) and ECS (2014-05-26) APIs the backend calls,
// answered from a vpc_model: parse, verify the signature, admit (throttling, faults), dispatch,
// page, and map model failures to the service's error answers.
#pragma once

#include <alivpc/detail/strings.hpp>
#include <alivpc/sim/credentials.hpp>
#include <alivpc/sim/http_exchange.hpp>
#include <alivpc/sim/request_parser.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace alivpc::sim {

// A route entry as DescribeRouteTables shows it (with_id: as the admin world dump shows it).
inline json route_entry_json(const route_entry_record& e, time_point now, bool with_id) {
  json j{{"RouteTableId", e.table_id}, {"DestinationCidrBlock", e.destination.to_string()}};
  if (with_id) j["RouteEntryId"] = e.id;
  j["Type"] = e.system ? "System" : "Custom";
  j["NextHopType"] = e.next_hop_type;
  j["InstanceId"] = e.next_hop_id;
  j["Status"] = to_api_string(e.status(now));
  j["NextHops"] = json{{"NextHop", json::array()}};
  return j;
}

class openapi_service {
 public:
  openapi_service(vpc_model& model, credential_store& keys) : model_(model), keys_(keys) {}

  // `rng` draws the RequestId before anything else (see new_request_id).
  http_answer handle(const http_request& req, wall_time wall, time_point now, prng& rng) {
    auto request_id = new_request_id(rng);
    auto parsed = parse_api_request(req.method, req.target, req.headers, req.body);
    std::string host = "vpc.aliyuncs.com";
    if (auto* e = std::get_if<api_error>(&parsed))
      return error_answer(*e, "Unknown", request_id, host, now);
    auto& r = std::get<api_request>(parsed);
    if (r.product == api_product::ecs) host = "ecs.aliyuncs.com";
    if (auto e = keys_.verify(r, wall)) return error_answer(*e, r.action, request_id, host, now);
    try {
      if (auto gate = model_.admit(r.action, r.access_key_id, now); gate != admission::proceed) {
        http_answer a;
        a.drop = gate == admission::drop;
        a.hang = gate == admission::timeout;
        a.action = r.action;
        a.outcome = a.drop ? "Dropped" : "TimedOut";
        model_.stats().record(r.action, a.outcome);
        a.delay = model_.draw_latency(r.action);
        return a;
      }
      http_answer a;
      if (r.action == "DescribeRouteEntryList") {
        a.body = "{";
        member(a.body, "RequestId", request_id);
        describe_route_entry_list(r, now, a.body);
        a.body += "}";
      } else {
        json body = dispatch(r, now);
        json out = {{"RequestId", request_id}};
        for (auto& [k, v] : body.items())
          out[k] = std::move(v);
        a.body = out.dump();
      }
      model_.stats().record(r.action, "Success");
      a.action = r.action;
      a.outcome = "Success";
      a.delay = model_.draw_latency(r.action);
      return a;
    } catch (const api_failure& f) {
      auto e = f.error();
      if (r.product == api_product::ecs && e.code == "RouterEntryConflict.Duplicated")
        e.code = "InvalidCIDRBlock.Duplicate";
      return error_answer(e, r.action, request_id, host, now);
    }
  }

 private:
  http_answer error_answer(const api_error& e, const std::string& action,
                           const std::string& request_id, const std::string& host, time_point) {
    model_.stats().record(action, e.code);
    http_answer a;
    a.status = e.http_status;
    a.body =
        json{{"RequestId", request_id}, {"HostId", host}, {"Code", e.code}, {"Message", e.message}}
            .dump();
    a.action = action;
    a.outcome = e.code;
    a.delay = model_.draw_latency(action);
    return a;
  }

  json dispatch(const api_request& r, time_point now) {
    const auto& a = r.action;
    if (model_.config().missing_actions.count(a)) return no_such_action();
    if (a == "DescribeVpcs") return describe_vpcs(r);
    if (a == "DescribeVRouters") return describe_vrouters(r);
    if (a == "DescribeRouteTables") return describe_route_tables(r, now);
    if (a == "DescribeRouteTableList") return describe_route_table_list(r);
    if (a == "CreateRouteEntry") {
      auto id = model_.create_route_entry(
          {param(r, "RouteTableId"), param(r, "DestinationCidrBlock"), param(r, "NextHopType"),
           param(r, "NextHopId"), client_token(r)},
          now);
      return r.product == api_product::vpc ? json{{"RouteEntryId", id}} : json::object();
    }
    if (a == "DeleteRouteEntry") {
      auto entry_id = param(r, "RouteEntryId");
      if (entry_id.empty() && param(r, "RouteTableId").empty())
        throw api_failure(missing_parameter("RouteTableId"));
      model_.delete_route_entry({param(r, "RouteTableId"), param(r, "DestinationCidrBlock"),
                                 param(r, "NextHopId"), entry_id},
                                now);
      return json::object();
    }
    if (a == "CreateRouteEntries" || a == "DeleteRouteEntries") return route_entries_batch(r, now);
    return no_such_action();
  }
  [[noreturn]] static json no_such_action() {
    throw api_failure(404, "InvalidAction.NotFound",
                      "Specified api is not found, please check your url and method.");
  }

  // CreateRouteEntries / DeleteRouteEntries: {SuccessCount, FailedCount, RouteEntryIds[],
  // FailedRouteEntries[]{DstCidrBlock, NextHop, FailedCode, FailedMessage}}. A DryRun answers as
  // the service does for every action with DryRun: HTTP 400 DryRunOperation when the real call
  // would succeed for every entry, else the first entry's failure as the error (nothing changes).
  json route_entries_batch(const api_request& r, time_point now) {
    require_region(r);
    const bool create = r.action == "CreateRouteEntries";
    auto req = batch_request(r, create);
    auto res =
        create ? model_.create_route_entries(req, now) : model_.delete_route_entries(req, now);
    if (req.dry_run) {
      if (res.failed.empty())
        throw api_failure(400, "DryRunOperation",
                          "Request validation has been passed with DryRun flag set.");
      const auto& f = res.failed.front();
      throw api_failure(400, f.code,
                        "RouteEntries." + std::to_string(f.index + 1) + " (DstCidrBlock " +
                            f.destination + ", NextHop " + f.next_hop_id + "): " + f.message);
    }
    json failed = json::array();
    for (const auto& f : res.failed)
      failed.push_back(json{{"DstCidrBlock", f.destination},
                            {"NextHop", f.next_hop_id},
                            {"FailedCode", f.code},
                            {"FailedMessage", f.message}});
    return json{{"SuccessCount", res.success_count},
                {"FailedCount", res.failed.size()},
                {"RouteEntryIds", res.route_entry_ids},
                {"FailedRouteEntries", std::move(failed)}};
  }

  // RouteEntries.N.Field, N counting from 1 without gaps; an unknown field or a gap is an
  // error naming the parameter (a client bug should not pass as a smaller batch).
  static batch_route_request batch_request(const api_request& r, bool create) {
    static constexpr std::string_view prefix = "RouteEntries.";
    const char* expected = create ? "RouteTableId, DstCidrBlock, NextHop, NextHopType, Name, "
                                    "Description, IpVersion"
                                  : "RouteTableId, RouteEntryId, DstCidrBlock, NextHop, IpVersion";
    std::map<std::size_t, batch_route_entry> by_n;
    for (auto it = r.params.lower_bound(std::string(prefix));
         it != r.params.end() && it->first.starts_with(prefix); ++it) {
      const auto& [name, value] = *it;
      auto rest = std::string_view(name).substr(prefix.size());
      auto dot = rest.find('.');
      auto n_text = rest.substr(0, dot);
      bool digits =
          !n_text.empty() && n_text.size() <= 4 && n_text[0] != '0' &&
          std::all_of(n_text.begin(), n_text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (dot == std::string_view::npos || !digits)
        throw api_failure(
            invalid_parameter(name, "expected RouteEntries.N.<field>, N = 1, 2, ..."));
      auto& e = by_n[std::stoul(std::string(n_text))];
      auto field = rest.substr(dot + 1);
      if (field == "RouteTableId") {
        e.route_table_id = value;
      } else if (field == "DstCidrBlock") {
        e.destination = value;
      } else if (field == "NextHop") {
        e.next_hop_id = value;
      } else if (field == "RouteEntryId" && !create) {
        e.route_entry_id = value;
      } else if (field == "NextHopType" && create) {
        e.next_hop_type = value;
      } else if (field == "Name" && create) {
        e.name = value;
      } else if (field == "Description" && create) {
        e.description = value;
      } else if (field == "IpVersion") {
        if (!value.empty() && alivpc::detail::lower(value) != "ipv4")
          throw api_failure(invalid_parameter(name, "only IPv4 is served by this emulator"));
      } else {
        throw api_failure(
            invalid_parameter(name, "unknown field; expected one of " + std::string(expected)));
      }
    }
    batch_route_request out;
    for (auto& [n, e] : by_n) {
      if (n != out.entries.size() + 1)
        throw api_failure(invalid_parameter("RouteEntries." + std::to_string(n),
                                            "RouteEntries." +
                                                std::to_string(out.entries.size() + 1) +
                                                " is missing: N counts from 1 without gaps"));
      out.entries.push_back(std::move(e));
    }
    auto dry_run = param(r, "DryRun");
    if (!dry_run.empty() && dry_run != "true" && dry_run != "false")
      throw api_failure(invalid_parameter("DryRun", "expected true or false"));
    out.dry_run = dry_run == "true";
    return out;
  }

  static std::string param(const api_request& r, const std::string& name) {
    auto it = r.params.find(name);
    return it == r.params.end() ? std::string() : it->second;
  }
  static std::string client_token(const api_request& r) {
    auto t = param(r, "ClientToken");
    if (t.size() > 64)
      throw api_failure(invalid_parameter("ClientToken", "at most 64 ASCII characters"));
    for (unsigned char c : t)
      if (c < 0x20 || c > 0x7e) throw api_failure(invalid_parameter("ClientToken", "ASCII only"));
    return t;
  }
  static long number(const api_request& r, const std::string& name, long dflt, long lo, long hi) {
    auto text = param(r, name);
    if (text.empty()) return dflt;
    long v = 0;
    if (text.size() > 9) throw api_failure(invalid_parameter(name, "out of range"));
    for (char c : text) {
      if (c < '0' || c > '9') throw api_failure(invalid_parameter(name, "not a number"));
      v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi)
      throw api_failure(
          invalid_parameter(name, "must be " + std::to_string(lo) + ".." + std::to_string(hi)));
    return v;
  }
  void require_region(const api_request& r) {
    auto region = param(r, "RegionId");
    if (region.empty()) throw api_failure(missing_parameter("RegionId"));
    if (!model_.has_region(region))
      throw api_failure(404, "InvalidRegionId.NotFound", "The specified RegionId does not exist.");
  }
  static bool matches(const std::vector<std::string>& filter, const std::string& id) {
    return filter.empty() || std::find(filter.begin(), filter.end(), id) != filter.end();
  }

  // PageNumber (from 1) / PageSize (1..50, default 10) over `items`; adds the paging fields.
  template <class T, class F>
  json paged(const api_request& r, const std::vector<T>& items, const char* outer,
             const char* inner, F to_json) {
    auto number_ = number(r, "PageNumber", 1, 1, 100000000);
    auto size = number(r, "PageSize", 10, 1, 50);
    json list = json::array();
    auto first = static_cast<std::size_t>((number_ - 1) * size);
    for (auto i = first; i < items.size() && i < first + static_cast<std::size_t>(size); ++i)
      list.push_back(to_json(items[i]));
    return json{{"TotalCount", items.size()},
                {"PageNumber", number_},
                {"PageSize", size},
                {outer, json{{inner, list}}}};
  }

  json describe_vpcs(const api_request& r) {
    require_region(r);
    auto filter = alivpc::detail::split_list(param(r, "VpcId"));
    std::vector<const vpc_record*> found;
    for (const auto& [id, v] : model_.vpcs())
      if (v.region_id == param(r, "RegionId") && matches(filter, id)) found.push_back(&v);
    return paged(r, found, "Vpcs", "Vpc", [&](const vpc_record* v) {
      return json{{"VpcId", v->id},
                  {"RegionId", v->region_id},
                  {"Status", "Available"},
                  {"VpcName", ""},
                  {"CreationTime", "2026-01-01T00:00:00Z"},
                  {"CidrBlock", v->cidr.to_string()},
                  {"VRouterId", v->vrouter_id},
                  {"Description", ""},
                  {"IsDefault", false},
                  {"VSwitchIds", json{{"VSwitchId", v->vswitch_ids}}},
                  {"RouterTableIds", json{{"RouterTableIds", v->table_ids}}}};
    });
  }

  json describe_vrouters(const api_request& r) {
    require_region(r);
    auto filter = alivpc::detail::split_list(param(r, "VRouterId"));
    std::vector<const vpc_record*> found;
    for (const auto& [id, v] : model_.vpcs())
      if (v.region_id == param(r, "RegionId") && matches(filter, v.vrouter_id)) found.push_back(&v);
    return paged(r, found, "VRouters", "VRouter", [&](const vpc_record* v) {
      return json{{"VRouterId", v->vrouter_id},
                  {"VpcId", v->id},
                  {"RegionId", v->region_id},
                  {"VRouterName", ""},
                  {"Description", ""},
                  {"CreationTime", "2026-01-01T00:00:00Z"},
                  {"RouteTableIds", json{{"RouteTableId", v->table_ids}}}};
    });
  }

  json describe_route_tables(const api_request& r, time_point now) {
    auto vrouter = param(r, "VRouterId");
    auto table_id = param(r, "RouteTableId");
    if (!vrouter.empty() && !model_.find_vpc_by_vrouter(vrouter))
      throw api_failure(404, "InvalidVRouterId.NotFound",
                        "The specified VRouter " + vrouter + " does not exist.");
    if (!table_id.empty() && !model_.find_table(table_id))
      throw api_failure(404, "InvalidRouteTableId.NotFound",
                        "The specified route table " + table_id + " does not exist.");
    std::vector<const route_table_record*> found;
    for (const auto& [vid, v] : model_.vpcs()) {
      if (!vrouter.empty() && v.vrouter_id != vrouter) continue;
      for (const auto& tid : v.table_ids)
        if (table_id.empty() || tid == table_id) found.push_back(model_.find_table(tid));
    }
    return paged(r, found, "RouteTables", "RouteTable", [&](const route_table_record* t) {
      json entries = json::array();
      for (const auto& e : model_.entries(t->id, now))
        entries.push_back(route_entry_json(e, now, false));
      return json{{"VRouterId", t->vrouter_id},
                  {"RouteTableId", t->id},
                  {"RouteTableType", t->system ? "System" : "Custom"},
                  {"CreationTime", "2026-01-01T00:00:00Z"},
                  {"RouteEntrys", json{{"RouteEntry", entries}}}};
    });
  }

  json describe_route_table_list(const api_request& r) {
    require_region(r);
    auto vpc = param(r, "VpcId");
    auto router = param(r, "RouterId");
    auto table_id = param(r, "RouteTableId");
    auto type = param(r, "RouteTableType");
    auto router_type = param(r, "RouterType");
    if (!router_type.empty() && router_type != "VRouter")
      throw api_failure(invalid_parameter("RouterType", "VRouter is the only router type here"));
    if (!vpc.empty() && !model_.find_vpc(vpc))
      throw api_failure(404, "InvalidVpcId.NotFound",
                        "The specified VPC " + vpc + " does not exist.");
    std::vector<const route_table_record*> found;
    for (const auto& [vid, v] : model_.vpcs()) {
      if (v.region_id != param(r, "RegionId") || (!vpc.empty() && vid != vpc) ||
          (!router.empty() && v.vrouter_id != router))
        continue;
      for (const auto& tid : v.table_ids) {
        auto* t = model_.find_table(tid);
        if ((table_id.empty() || tid == table_id) &&
            (type.empty() || type == (t->system ? "System" : "Custom")))
          found.push_back(t);
      }
    }
    json out{{"Code", "200"}, {"Success", true}, {"Message", "successful"}};
    // A named local: a temporary's items() would dangle in the loop.
    json page =
        paged(r, found, "RouterTableList", "RouterTableListType", [&](const route_table_record* t) {
          return json{{"RouteTableId", t->id},
                      {"RouteTableType", t->system ? "System" : "Custom"},
                      {"RouterId", t->vrouter_id},
                      {"RouterType", "VRouter"},
                      {"VpcId", t->vpc_id},
                      {"RouteTableName", ""},
                      {"Description", ""},
                      {"Status", "Available"},
                      {"CreationTime", "2026-01-01T00:00:00Z"},
                      {"VSwitchIds", json{{"VSwitchId", t->vswitch_ids}}}};
        });
    for (auto& [k, v] : page.items())
      out[k] = v;
    return out;
  }

  // DescribeRouteEntryList's members ("NextToken":..,"RouteEntrys":..) written as text onto
  // `out`: every node of a simulated cluster lists the table, and building then dumping a JSON
  // tree of every entry was most of the emulator's time. The same document as the tree would
  // give. The page is chosen first (the token comes before the entries), then written once.
  void describe_route_entry_list(const api_request& r, time_point now, std::string& out) {
    auto table_id = param(r, "RouteTableId");
    if (table_id.empty()) throw api_failure(missing_parameter("RouteTableId"));
    auto max = number(r, "MaxResult", 10, 1, 100);
    auto dest = param(r, "DestinationCidrBlock");
    auto hop = param(r, "NextHopId");
    auto type = param(r, "RouteEntryType");
    auto entry_id = param(r, "RouteEntryId");
    std::uint64_t from = 0;
    auto token = param(r, "NextToken");
    if (!token.empty()) {
      if (token.size() > 16) throw api_failure(invalid_parameter("NextToken", "unknown token"));
      for (char c : token) {
        int v = alivpc::detail::hex_value(c);
        if (v < 0) throw api_failure(invalid_parameter("NextToken", "unknown token"));
        from = from * 16 + static_cast<std::uint64_t>(v);
      }
    }
    std::optional<net::ipv4_cidr> dest_cidr;
    if (!dest.empty() && !(dest_cidr = net::ipv4_cidr::try_parse(dest)))
      throw api_failure(
          400, "InvalidCidrBlock.Malformed",
          "Specified DestinationCidrBlock \"" + dest + "\" is not a valid CIDR block.");
    std::vector<const route_entry_record*> page;
    std::string next;
    // throws InvalidRouteTableId.NotFound
    // The token is the (network, prefix) key of the first entry of the next page.
    std::pair<std::uint32_t, int> first{static_cast<std::uint32_t>(from >> 8),
                                        static_cast<int>(from & 0xFF)};
    // A destination filter (a node checking its own route) starts at that entry and ends after.
    if (dest_cidr)
      first = std::max(first, std::pair{dest_cidr->network().value(),
                                        static_cast<int>(dest_cidr->prefix_length())});
    // A token past every possible key (more than 40 bits) lists nothing.
    if ((from >> 40) != 0) first = {std::numeric_limits<std::uint32_t>::max(), 256};
    // A page of the whole table, unchanged since it was written, is written again as it was.
    const bool whole = dest.empty() && hop.empty() && type.empty() && entry_id.empty();
    written_page* kept = nullptr;
    if (whole) {
      // The walk's own checks and upkeep first (an unknown table throws, gone entries go).
      model_.for_each_entry_from(table_id, now, first,
                                 [](const route_entry_record&) { return false; });
      if (written_version_ != model_.version()) {
        written_pages_.clear();
        written_version_ = model_.version();
      }
      kept = &written_pages_[{table_id, from, max}];
      if (kept->valid_until > now) {
        out.reserve(out.size() + kept->text.size() + 64);  // and room for what follows
        out += kept->text;
        return;
      }
    }
    const auto page_start = out.size();
    auto valid_until = time_point::max();
    model_.for_each_entry_from(table_id, now, first, [&](const route_entry_record& e) {
      if (dest_cidr && e.destination != *dest_cidr) return false;  // entries are in key order
      if ((!hop.empty() && e.next_hop_id != hop) ||
          (!type.empty() && type != (e.system ? "System" : "Custom")) ||
          (!entry_id.empty() && e.id != entry_id))
        return true;
      if (static_cast<long>(page.size()) == max) {
        const std::uint64_t key = (std::uint64_t{e.destination.network().value()} << 8) |
                                  static_cast<std::uint64_t>(e.destination.prefix_length());
        char buf[24];
        std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(key));
        next = buf;
        return false;
      }
      page.push_back(&e);
      if (e.available_at > now) valid_until = std::min(valid_until, e.available_at);
      if (e.gone_at && *e.gone_at > now) valid_until = std::min(valid_until, *e.gone_at);
      return true;
    });
    out.reserve(out.size() + page.size() * 400 + 64);  // about one entry's text each
    member(out, "NextToken", next);
    out += R"("RouteEntrys":{"RouteEntry":[)";
    for (std::size_t i = 0; i < page.size(); ++i) {
      if (i) out += ',';
      out += listed_entry(*page[i], now);
    }
    out += "]}";
    if (kept) {
      kept->text.assign(out, page_start);
      kept->valid_until = valid_until;
    }
  }

  // A page of a whole-table listing as it was written: a route leader lists a 5,000-entry table
  // every reconcile period, and at rest the table is as it was. Writing a page gathered a hundred
  // entries' texts from as many places in memory, each a wait; a page kept is one copy of one
  // block. It stays right while the model's version stays (every entry created or erased moves
  // it, and then every page kept is dropped) and until the first status change among its
  // entries (a Pending entry's end, a Deleting one's).
  struct written_page {
    time_point valid_until{};  // none yet: the time's start
    std::string text;          // from "NextToken" to the end of the list
  };

  // One entry of a listing page, kept with the entry while its status stays (a route leader
  // lists a 5,000-entry table every reconcile period, and writing the same text again was half
  // of the emulator's time).
  static const std::string& listed_entry(const route_entry_record& e, time_point now) {
    const auto status = e.status(now);
    if (!e.listed_text.empty() && e.listed_status == status) return e.listed_text;
    e.listed_status = status;
    auto& text = e.listed_text;
    text = "{";
    member(text, "RouteEntryId", e.id);
    member(text, "RouteTableId", e.table_id);
    member(text, "DestinationCidrBlock", e.destination.to_string());
    member(text, "Status", to_api_string(status));
    member(text, "Type", e.system ? "System" : "Custom");
    member(text, "IpVersion", "ipv4");
    member(text, "RouteEntryName", e.name);
    member(text, "Description", e.description);
    text += R"("NextHops":{"NextHop":[{)";
    member(text, "NextHopId", e.system ? std::string_view() : std::string_view(e.next_hop_id));
    member(text, "NextHopType",
           e.system ? std::string_view("local") : std::string_view(e.next_hop_type));
    text += R"("Enabled":1,"Weight":0}]}})";
    return text;
  }

  // "name":"value", with the value escaped as JSON requires.
  static void member(std::string& out, std::string_view name, std::string_view value) {
    out += '"';
    out += name;
    out += "\":\"";
    std::size_t plain = 0;  // the start of the run of characters that need no escape
    for (std::size_t i = 0; i < value.size(); ++i) {
      const char c = value[i];
      if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) continue;
      out.append(value.substr(plain, i - plain));
      plain = i + 1;
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      }
    }
    out.append(value.substr(plain));
    out += "\",";
  }

  vpc_model& model_;
  credential_store& keys_;
  // (table, NextToken's key, MaxResult) -> the page, all of the model's written_version_.
  std::map<std::tuple<std::string, std::uint64_t, long>, written_page> written_pages_;
  std::uint64_t written_version_ = 0;
};

}  // namespace alivpc::sim
