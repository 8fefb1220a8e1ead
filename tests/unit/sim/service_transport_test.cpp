// The production cloud client (basic_aliyun_route_api: metadata, credentials, signing, retries,
// classification) against the emulator's service through the simulator's in-process transport.
#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/emulator_service.hpp>
#include <alivpc/sim/service_transport.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;
namespace cloud = alivpc::cloud;
namespace sim = alivpc::sim;
using vsched = alivpc::virtual_scheduler;

namespace {

struct world {
  vsched s{3};
  sim::vpc_model model;
  sim::credential_store keys{5};
  sim::emulator_service service{model, keys, {}, 9};
  sim::service_transport<vsched> transport{s, service};
  std::string table;
  bool dead = false;  // the process's kill switch

  explicit world(sim::model_config cfg = {}) : model(std::move(cfg), 7) {
    auto& v = model.add_vpc("cn-hangzhou", ipv4_cidr::parse("192.168.0.0/16"));
    table = v.system_table_id;
    auto& vs = model.add_vswitch(v.id, "cn-hangzhou-h", ipv4_cidr::parse("192.168.0.0/24"));
    model.add_instance("i-1", vs.id, ipv4_address::parse("192.168.0.10"));
    model.add_instance("i-2", vs.id, ipv4_address::parse("192.168.0.11"));
  }

  // The daemon's defaults: region from metadata, RAM-role keys, VPC API, V3 signatures.
  cloud::basic_aliyun_route_api<vsched> client(std::string instance = "i-1") {
    cloud::aliyun_options o;
    o.vpc_endpoint = "https://127.0.0.1:8443";
    o.metadata.base_url = "http://127.0.0.1:8080/metadata/" + instance;
    o.credentials.use_environment = false;
    o.retry.max_transient_attempts = 20;
    return {s, transport.factory([this] {
              if (dead) alivpc::fail(alivpc::error_kind::cancelled, "the process was killed");
            }),
            o};
  }

  // Runs `t` to its end; returns the error it ended with, if any.
  std::exception_ptr run(alivpc::task<void> t) {
    std::exception_ptr error;
    bool done = false;
    auto to_the_end = [](alivpc::task<void> t, bool& done) -> alivpc::task<void> {
      co_await std::move(t);
      done = true;
    };
    alivpc::spawn(s, to_the_end(std::move(t), done), [&](const std::exception_ptr& e) {
      error = e;
      done = true;
    });
    s.run();
    EXPECT_TRUE(done);
    return error;
  }
};

alivpc::error_kind kind_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const alivpc::error& err) {
    return err.kind();
  } catch (...) {
    ADD_FAILURE() << "not an alivpc::error";
  }
  return alivpc::error_kind::permanent;
}

cloud::route_spec route(const std::string& table, const char* dest, const char* hop) {
  return {table, ipv4_cidr::parse(dest), "Instance", hop};
}

}  // namespace

TEST(ServiceTransport, ProductionClientRetriesConflictsAndTransientErrors) {
  sim::model_config cfg;
  cfg.default_latency = sim::latency_distribution::fixed(50ms);
  cfg.faults.push_back({"CreateRouteEntry", 0.3, sim::fault_kind::internal_error});
  world w(cfg);
  auto api = w.client();
  std::vector<cloud::route_entry> out;
  auto drive = [&]() -> alivpc::task<void> {
    auto id = co_await api.identity();
    EXPECT_EQ(id.instance_id, "i-1");
    auto vpc = co_await api.describe_vpc(id.vpc_id);
    auto tables = co_await api.list_route_table_ids(vpc.vrouter_id);
    EXPECT_EQ(tables.front(), w.table);
    auto r = route(w.table, "10.24.1.0/24", "i-1");
    co_await api.create_route_entry(r);
    co_await api.create_route_entry(r);  // the same route again: success
    co_await api.create_route_entry(route(w.table, "10.24.2.0/24", "i-2"));  // busy: retried
    co_await api.delete_route_entry(r);
    co_await api.delete_route_entry(r);  // busy, then gone: success
    out = co_await api.list_route_entries(w.table);
  };
  EXPECT_FALSE(w.run(drive()));
  ASSERT_EQ(out.size(), 2u + 1u + 1u);  // 2 system, 10.24.2.0/24, 10.24.1.0/24 deleting
  EXPECT_GT(w.model.stats().count("CreateRouteEntry", "InternalError"), 0u);
  EXPECT_GT(w.model.stats().count("CreateRouteEntry", "Success"), 0u);
  EXPECT_GT(w.model.stats().count("CreateRouteEntry", "IncorrectRouteEntryStatus") +
                w.model.stats().count("DeleteRouteEntry", "IncorrectRouteEntryStatus") +
                w.model.stats().count("CreateRouteEntry", "TaskConflict") +
                w.model.stats().count("DeleteRouteEntry", "TaskConflict"),
            0u);
}

TEST(ServiceTransport, ADuplicateWithAnotherNextHopIsAConflict) {
  sim::model_config cfg;
  cfg.write_delay = 0ms;
  world w(cfg);
  w.model.create_route_entry({w.table, "10.24.1.0/24", "Instance", "i-2", ""}, {});
  auto api = w.client();
  auto e = w.run(api.create_route_entry(route(w.table, "10.24.1.0/24", "i-1")));
  ASSERT_TRUE(e);
  EXPECT_EQ(kind_of(e), alivpc::error_kind::conflict);
}

TEST(ServiceTransport, DropsAndTimeoutsAreTransientAndRetried) {
  sim::model_config cfg;
  cfg.faults.push_back({"DescribeVpcs", 0.5, sim::fault_kind::drop});
  cfg.faults.push_back({"DescribeRouteTableList", 0.5, sim::fault_kind::timeout});
  world w(cfg);
  auto api = w.client();
  auto drive = [&]() -> alivpc::task<void> {
    auto id = co_await api.identity();
    for (int i = 0; i < 10; ++i) {
      auto vpc = co_await api.describe_vpc(id.vpc_id);
      co_await api.list_route_table_ids(vpc.vrouter_id);
    }
  };
  EXPECT_FALSE(w.run(drive()));
  EXPECT_GT(w.model.stats().count("DescribeVpcs", "Dropped"), 0u);
  EXPECT_GT(w.model.stats().count("DescribeRouteTableList", "TimedOut"), 0u);
  // A hung request costs the client's request timeout (15 s) of virtual time.
  EXPECT_GE(w.s.now() - alivpc::time_point{},
            15s * w.model.stats().count("DescribeRouteTableList", "TimedOut"));
}

// The RAM role's STS keys last an hour on the service: a client that did not renew them on
// virtual time would get InvalidSecurityToken.Expired (not retried) after the first hour.
TEST(ServiceTransport, RamRoleKeysAreRenewedOnVirtualTime) {
  world w;
  auto api = w.client();
  int calls = 0;
  auto drive = [&]() -> alivpc::task<void> {
    auto id = co_await api.identity();
    for (; calls < 30; ++calls) {
      co_await api.describe_vpc(id.vpc_id);
      co_await alivpc::sleep_for(w.s, 10min);
    }
  };
  EXPECT_FALSE(w.run(drive()));
  EXPECT_EQ(calls, 30);
  EXPECT_EQ(w.model.stats().count("DescribeVpcs", "Success"), 30u);
}

TEST(ServiceTransport, AKilledProcessSendsNothingMore) {
  sim::model_config cfg;
  cfg.default_latency = sim::latency_distribution::fixed(2s);
  world w(cfg);
  auto api = w.client();
  auto drive = [&]() -> alivpc::task<void> {
    auto id = co_await api.identity();
    for (;;)
      co_await api.describe_vpc(id.vpc_id);
  };
  w.s.call_at(alivpc::time_point{} + 7s, [&] { w.dead = true; });
  auto e = w.run(drive());
  ASSERT_TRUE(e);
  EXPECT_EQ(kind_of(e), alivpc::error_kind::cancelled);
  // Calls at 0, 2, 4 and 6 s were answered or in flight; none after the kill at 7 s.
  EXPECT_EQ(w.model.stats().count("DescribeVpcs", "Success"), 4u);
}
