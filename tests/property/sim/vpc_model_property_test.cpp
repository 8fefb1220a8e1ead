// Random create/delete/describe/quota sequences on two route tables of one VPC, checked against
// a plain reference map: unique destinations, quota, Pending -> Available and Deleting -> gone
// by time, and the one-write-at-a-time rules (IncorrectRouteEntryStatus / TaskConflict).
#include <alivpc/sim/vpc_model.hpp>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>

using namespace std::chrono_literals;
namespace sim = alivpc::sim;
using alivpc::time_point;
using alivpc::net::ipv4_cidr;

namespace {

struct command {
  int op = 0;     // 0 create, 1 delete, 2 describe, 3 set quota
  int table = 0;  // 0 system table, 1 custom table
  int dest = 0;   // index into destinations()
  int hop = 0;    // i-1 or i-2
  int advance_ms = 0;
  int quota = 0;
};

const std::vector<std::string>& destinations() {
  static const std::vector<std::string> d{"10.0.0.0/24",   "10.0.1.0/24",   "10.0.2.0/24",
                                          "10.0.3.0/24",   "10.2.0.0/16",   "10.1.0.0/16",
                                          "100.64.1.0/24", "100.127.0.0/16"};
  return d;
}

struct ref_entry {
  std::string hop;
  time_point available_at;
  std::optional<time_point> gone_at;
  sim::entry_status status(time_point now) const {
    if (gone_at) return now < *gone_at ? sim::entry_status::deleting : sim::entry_status::gone;
    return now < available_at ? sim::entry_status::pending : sim::entry_status::available;
  }
};

struct reference {
  std::map<std::string, ref_entry> tables[2];
  std::size_t quota = 3;
  void purge(time_point now) {
    for (auto& t : tables)
      std::erase_if(
          t, [&](const auto& kv) { return kv.second.status(now) == sim::entry_status::gone; });
  }
  bool busy(int table, time_point now) const {
    for (const auto& [d, e] : tables[table])
      if (e.status(now) != sim::entry_status::available) return true;
    return false;
  }
  std::string conflict(int table, time_point now) const {
    if (busy(table, now)) return "IncorrectRouteEntryStatus";
    if (busy(1 - table, now)) return "TaskConflict";
    return "";
  }
};

bool reserved(const std::string& d) {
  return ipv4_cidr::parse(d).overlaps(ipv4_cidr::parse("100.64.0.0/10"));
}

}  // namespace

RC_GTEST_PROP(VpcModelProperty, MatchesAReferenceMap, ()) {
  const auto write_delay = 1000ms;
  auto commands = *rc::gen::container<std::vector<command>>(rc::gen::build<command>(
      rc::gen::set(&command::op, rc::gen::weightedElement<int>({{5, 0}, {3, 1}, {2, 2}, {1, 3}})),
      rc::gen::set(&command::table, rc::gen::inRange(0, 2)),
      rc::gen::set(&command::dest, rc::gen::inRange(0, static_cast<int>(destinations().size()))),
      rc::gen::set(&command::hop, rc::gen::inRange(0, 2)),
      rc::gen::set(&command::advance_ms,
                   rc::gen::weightedElement<int>({{3, 0}, {2, 300}, {3, 1000}, {1, 2500}})),
      rc::gen::set(&command::quota, rc::gen::inRange(0, 6))));

  sim::model_config cfg;
  cfg.write_delay = write_delay;
  cfg.quota_per_table = 3;
  sim::vpc_model model(cfg, 1);
  const auto& vpc =
      model.add_vpc("cn-hangzhou", ipv4_cidr::parse("192.168.0.0/16"), "vpc-1", "vrt-1", "vtb-sys");
  const auto& sw = model.add_vswitch(vpc.id, "z", ipv4_cidr::parse("192.168.0.0/24"), "vsw-1");
  model.add_instance("i-1", sw.id, alivpc::net::ipv4_address::parse("192.168.0.10"));
  model.add_instance("i-2", sw.id, alivpc::net::ipv4_address::parse("192.168.0.11"));
  model.add_custom_table("vpc-1", {"vsw-1"}, "vtb-custom");
  const std::string table_ids[2] = {"vtb-sys", "vtb-custom"};

  reference ref;
  time_point now{};
  for (const auto& c : commands) {
    now += std::chrono::milliseconds(c.advance_ms);
    ref.purge(now);
    auto& rt = ref.tables[c.table];
    const auto& dest = destinations()[static_cast<std::size_t>(c.dest)];
    const std::string hop = c.hop ? "i-2" : "i-1";
    std::string got = "Success";
    if (c.op == 0) {
      std::string want = "Success";
      std::size_t custom = rt.size();
      if (reserved(dest))
        want = "OperationDenied";
      else if (rt.count(dest))
        want = "RouterEntryConflict.Duplicated";
      else if (auto conflict = ref.conflict(c.table, now); !conflict.empty())
        want = conflict;
      else if (custom >= ref.quota)
        want = "QuotaExceeded";
      try {
        model.create_route_entry({table_ids[c.table], dest, "Instance", hop, ""}, now);
      } catch (const sim::api_failure& f) {
        got = f.code();
      }
      RC_ASSERT(got == want);
      if (want == "Success") rt[dest] = ref_entry{hop, now + write_delay, std::nullopt};
    } else if (c.op == 1) {
      std::string want = "Success";
      auto it = rt.find(dest);
      if (reserved(dest) && c.table == 0) {
        // The system table holds 100.64.0.0/10 only; other reserved destinations are not there.
        want = ipv4_cidr::parse(dest) == ipv4_cidr::parse("100.64.0.0/10")
                   ? "OperationDenied"
                   : "InvalidRouteEntry.NotFound";
      } else if (it == rt.end() || it->second.status(now) == sim::entry_status::deleting) {
        want = "InvalidRouteEntry.NotFound";
      } else if (auto conflict = ref.conflict(c.table, now); !conflict.empty()) {
        want = conflict;
      }
      try {
        model.delete_route_entry({table_ids[c.table], dest, "", ""}, now);
      } catch (const sim::api_failure& f) {
        got = f.code();
      }
      RC_ASSERT(got == want);
      if (want == "Success") it->second.gone_at = now + write_delay;
    } else if (c.op == 3) {
      ref.quota = static_cast<std::size_t>(c.quota);
      model.config().quota_per_table = ref.quota;
    }
    // After every step: the model's custom entries are the reference's, with the same status.
    for (int t = 0; t < 2; ++t) {
      std::map<std::string, std::pair<std::string, sim::entry_status>> seen;
      for (const auto& e : model.entries(table_ids[t], now)) {
        if (e.system) continue;
        RC_ASSERT(seen.emplace(e.destination.to_string(), std::pair{e.next_hop_id, e.status(now)})
                      .second);
      }
      std::map<std::string, std::pair<std::string, sim::entry_status>> want;
      for (const auto& [d, e] : ref.tables[t])
        want.emplace(d, std::pair{e.hop, e.status(now)});
      RC_ASSERT(seen == want);
    }
  }
}
