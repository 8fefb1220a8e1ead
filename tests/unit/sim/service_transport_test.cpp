// The production cloud client (basic_aliyun_route_api: metadata, credentials, signing, retries,
// classification) against the emulator's service through the simulator's in-process transport.
#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc/cloud/observed_route_api.hpp>
#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/emulator_service.hpp>
#include <alivpc/sim/raw_request.hpp>
#include <alivpc/sim/service_transport.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

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

// ---- batches: CreateRouteEntries / DeleteRouteEntries through the production client -----------

namespace {

std::string read_capture(const std::string& name) {
  std::ifstream in(std::string(ALIVPC_SOURCE_DIR) + "/fuzz/corpus/emulator_request/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The action parameters of a request target (the RouteEntries.N.* and RegionId).
cloud::param_map action_params(const std::string& target) {
  auto p = alivpc::detail::decode_params(target.substr(target.find('?') + 1));
  EXPECT_TRUE(p) << target;
  cloud::param_map out;
  for (auto& [k, v] : p.value_or(cloud::param_map{}))
    if (k.starts_with("RouteEntries.") || k == "RegionId" || k == "DryRun") out[k] = v;
  return out;
}

// The world of captures/batch-requests.txt (table vtb-abc, instances i-node1 and i-node2), and a
// transport that records each request and can lose the answer of chosen ones.
struct batch_world {
  vsched s{3};
  sim::vpc_model model;
  sim::credential_store keys{5};
  sim::emulator_service service{model, keys, {}, 9};
  sim::service_transport<vsched> transport{s, service};
  std::vector<alivpc::http::request> sent;  // OpenAPI requests, in order
  int lose_answers = 0;  // of that many next batch requests: applied, but the answer is lost

  explicit batch_world(sim::model_config cfg = {}) : model(std::move(cfg), 7) {
    auto& v = model.add_vpc("cn-hangzhou", ipv4_cidr::parse("192.168.0.0/16"), "vpc-1", "vrt-1",
                            "vtb-abc");
    auto& vs = model.add_vswitch(v.id, "cn-hangzhou-h", ipv4_cidr::parse("192.168.0.0/24"));
    model.add_instance("i-node1", vs.id, ipv4_address::parse("192.168.0.10"));
    model.add_instance("i-node2", vs.id, ipv4_address::parse("192.168.0.11"));
  }

  cloud::basic_aliyun_route_api<vsched> client(
      cloud::signature_version sig = cloud::signature_version::v3,
      cloud::api_flavour flavour = cloud::api_flavour::vpc) {
    cloud::aliyun_options o;
    o.vpc_endpoint = "https://127.0.0.1:8443";
    o.metadata.base_url = "http://127.0.0.1:8080/metadata/i-node1";
    o.credentials.use_environment = false;
    o.signature = sig;
    o.flavour = flavour;
    auto inner = transport.factory();
    cloud::transport_factory recording = [this, inner](const alivpc::http::url& u,
                                                       const alivpc::http::client_options& co) {
      auto send = inner(u, co);
      return cloud::send_function(
          [this, send](alivpc::http::request r) { return record(this, send, std::move(r)); });
    };
    return {s, recording, o};
  }

  static alivpc::task<alivpc::http::response> record(batch_world* self, cloud::send_function send,
                                                     alivpc::http::request r) {
    if (r.target.find("/metadata/") == std::string::npos) self->sent.push_back(r);
    bool batch = r.target.find("RouteEntries.") != std::string::npos;
    auto res = co_await send(std::move(r));
    if (batch && self->lose_answers > 0) {
      --self->lose_answers;
      alivpc::fail(alivpc::error_kind::transient, "connection reset before the answer came");
    }
    co_return res;
  }

  template <class T>
  T run(alivpc::task<T> t) {
    std::optional<T> out;
    std::exception_ptr error;
    auto to_the_end = [](alivpc::task<T> t, std::optional<T>& out) -> alivpc::task<void> {
      out = co_await std::move(t);
    };
    alivpc::spawn(s, to_the_end(std::move(t), out),
                  [&](const std::exception_ptr& e) { error = e; });
    s.run();
    if (error) std::rethrow_exception(error);
    EXPECT_TRUE(out);
    return std::move(*out);
  }

  void run(alivpc::task<void> t) {
    auto to_value = [](alivpc::task<void> t) -> alivpc::task<bool> {
      co_await std::move(t);
      co_return true;
    };
    run(to_value(std::move(t)));
  }

  std::size_t custom_entries(alivpc::time_point now) {
    std::size_t n = 0;
    for (const auto& e : model.entries("vtb-abc", now))
      n += e.system ? 0 : 1;
    return n;
  }
};

// The routes of the captured request.
std::vector<cloud::route_spec> captured_routes() {
  cloud::route_spec a{"vtb-abc", ipv4_cidr::parse("10.24.1.0/24"), "Instance", "i-node1"};
  a.name = "alivpc";
  a.description = "lease 10.24.1.0/24";
  return {a, {"vtb-abc", ipv4_cidr::parse("10.24.2.0/24"), "Instance", "i-node2"}};
}

}  // namespace

static_assert(cloud::batch_route_api<cloud::basic_aliyun_route_api<vsched>>);

TEST(ServiceTransportBatch, RequestsAreTheCapturedSdkOnesAndTheServiceAcceptsThem) {
  // V3: the action parameters are the query string, byte for byte as the official SDK sent it.
  auto v3 = alivpc::sim::split_raw_request(read_capture("node_sdk_v3_create_route_entries.http"));
  ASSERT_TRUE(v3);
  {
    batch_world w;
    auto api = w.client();
    auto r = w.run(api.create_route_entries(captured_routes()));
    ASSERT_FALSE(w.sent.empty());
    EXPECT_EQ(w.sent.back().target, v3->target);
    EXPECT_EQ(w.sent.back().method, "POST");
    ASSERT_EQ(r.items.size(), 2u);
    EXPECT_TRUE(r.items[0].accepted() && r.items[1].accepted());
    EXPECT_EQ(r.route_entry_ids.size(), 2u);
    EXPECT_FALSE(r.request_id.empty());
    EXPECT_EQ(w.custom_entries(w.s.now()), 2u);
  }
  // V1: the same action parameters (the common ones differ: GET, Format=JSON, our nonce).
  auto v1 =
      alivpc::sim::split_raw_request(read_capture("node_sdk_v1_post_create_route_entries.http"));
  ASSERT_TRUE(v1);
  {
    batch_world w;
    auto api = w.client(cloud::signature_version::v1);
    auto r = w.run(api.create_route_entries(captured_routes()));
    ASSERT_FALSE(w.sent.empty());
    EXPECT_EQ(action_params(w.sent.back().target), action_params(v1->target));
    EXPECT_EQ(action_params(w.sent.back().target).size(), 11u);
    EXPECT_EQ(r.accepted_count(), 2u);
    EXPECT_EQ(w.model.stats().count("CreateRouteEntries", "Success"), 1u);
  }
}

TEST(ServiceTransportBatch, PerEntryFailuresComeBackOnTheirRoutes) {
  batch_world w;
  w.model.force_create("vtb-abc", ipv4_cidr::parse("10.24.2.0/24"), "Instance", "i-node2");
  auto api = w.client();
  auto route = [](const char* dest, const char* hop) {
    return cloud::route_spec{"vtb-abc", ipv4_cidr::parse(dest), "Instance", hop};
  };
  cloud::route_batch_result created, early_delete, more_created, deleted;
  std::vector<cloud::route_entry> listed;
  auto drive = [&]() -> alivpc::task<void> {
    std::vector<cloud::route_spec> add{route("10.24.1.0/24", "i-node1"),
                                       route("10.24.2.0/24", "i-node1"),  // i-node2's
                                       route("10.24.3.0/24", "i-nope")};
    created = co_await api.create_route_entries(add);
    cloud::route_entry_filter mine{ipv4_cidr::parse("10.24.1.0/24"), {}};
    listed = co_await api.list_route_entries("vtb-abc", mine);
    auto by_id = route("10.24.1.0/24", "i-node1");
    by_id.route_entry_id = listed.at(0).route_entry_id;
    // At once: the new entry is still Pending, so its delete fails on its own.
    std::vector<cloud::route_spec> early{by_id};
    early_delete = co_await api.delete_route_entries(early);
    // A batch that does not name it finds the VPC busy: refused whole, and retried until the
    // write is done.
    std::vector<cloud::route_spec> more{route("10.24.4.0/24", "i-node1")};
    more_created = co_await api.create_route_entries(more);
    co_await alivpc::sleep_for(w.s, 2s);
    auto gone_id = route("10.24.8.0/24", "i-node1");
    gone_id.route_entry_id = "rte-nope";
    std::vector<cloud::route_spec> del{by_id, route("10.24.2.0/24", "i-node1"),  // not ours
                                       route("10.24.9.0/24", "i-node1"), gone_id};
    deleted = co_await api.delete_route_entries(del);
  };
  w.run(drive());
  ASSERT_EQ(created.items.size(), 3u);
  EXPECT_TRUE(created.items[0].accepted());
  EXPECT_EQ(created.items[1].failure_code, "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
  EXPECT_EQ(created.items[1].failure_class(), cloud::api_error_class::duplicate);
  EXPECT_EQ(created.items[1].route.next_hop_id, "i-node1");
  EXPECT_EQ(created.items[2].failure_code, "InvalidInstanceId.NotFound");
  EXPECT_EQ(created.items[2].failure_class(), cloud::api_error_class::bad_request);
  EXPECT_EQ(created.route_entry_ids, (std::vector<std::string>{listed.at(0).route_entry_id}));
  ASSERT_EQ(early_delete.items.size(), 1u);
  EXPECT_EQ(early_delete.items[0].failure_code, "VPC_ROUTE_ENTRY_STATUS_ERROR");
  EXPECT_EQ(early_delete.items[0].failure_class(), cloud::api_error_class::conflict);
  EXPECT_EQ(more_created.accepted_count(), 1u);
  EXPECT_GT(w.model.stats().count("CreateRouteEntries", "IncorrectRouteEntryStatus"), 0u);
  ASSERT_EQ(deleted.items.size(), 4u);
  EXPECT_TRUE(deleted.items[0].accepted());
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_EQ(deleted.items[i].failure_class(), cloud::api_error_class::not_found)
        << i << " " << deleted.items[i].failure_code;
  EXPECT_EQ(deleted.route_entry_ids, created.route_entry_ids);
  // i-node2's entry and 10.24.4.0/24 are left once the delete is done.
  EXPECT_EQ(w.custom_entries(w.s.now() + 1s), 2u);
}

TEST(ServiceTransportBatch, DryRunValidatesAndChangesNothing) {
  batch_world w;
  auto api = w.client();
  auto r = w.run(api.create_route_entries(captured_routes(), cloud::batch_mode::dry_run));
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.accepted_count(), 2u);
  EXPECT_EQ(action_params(w.sent.back().target).at("DryRun"), "true");
  EXPECT_EQ(w.custom_entries(w.s.now()), 0u);
  EXPECT_EQ(w.model.stats().count("CreateRouteEntries", "DryRunOperation"), 1u);
  // A dry run that fails says why, as the error of the call.
  auto bad = captured_routes();
  bad[1].next_hop_id = "i-nope";
  try {
    w.run(api.create_route_entries(bad, cloud::batch_mode::dry_run));
    FAIL() << "no error";
  } catch (const cloud::api_error& e) {
    EXPECT_EQ(e.code(), "InvalidInstanceId.NotFound");
    std::string m = e.what();
    EXPECT_NE(m.find("RouteEntries.2"), std::string::npos) << m;
  }
  EXPECT_EQ(w.custom_entries(w.s.now()), 0u);
}

TEST(ServiceTransportBatch, TooManyRoutesOrTheEcsFlavourFailBeforeSending) {
  batch_world w;
  auto expect_refused = [&](cloud::basic_aliyun_route_api<vsched>& api,
                            std::vector<cloud::route_spec> routes, const char* part) {
    try {
      w.run(api.create_route_entries(std::move(routes)));
      ADD_FAILURE() << "no error";
    } catch (const alivpc::error& e) {
      EXPECT_EQ(e.kind(), alivpc::error_kind::invalid_argument);
      std::string m = e.what();
      EXPECT_NE(m.find(part), std::string::npos) << m;
    }
  };
  auto api = w.client();
  std::vector<cloud::route_spec> many(51, captured_routes()[0]);
  expect_refused(api, many, "51 routes, the service takes at most 50 per call");
  auto ecs = w.client(cloud::signature_version::v3, cloud::api_flavour::ecs);
  expect_refused(ecs, captured_routes(), "the ECS API (2014-05-26, the ecs flavour) has no batch");
  EXPECT_TRUE(w.sent.empty());
  EXPECT_TRUE(w.run(api.delete_route_entries({})).items.empty());
  EXPECT_TRUE(w.sent.empty());
}

// No ClientToken for batches: after a lost answer the batch is sent again, and the entries the
// first copy created come back as this batch's own (Pending: STATUS_ERROR, later: DUPLICATE).
// The caller tells them from another node's by their next hop; nothing is created twice.
TEST(ServiceTransportBatch, ABatchResentAfterALostAnswerFindsItsOwnEntries) {
  batch_world w;
  w.lose_answers = 1;
  auto api = w.client();
  auto r = w.run(api.create_route_entries(captured_routes()));
  EXPECT_EQ(w.model.stats().count("CreateRouteEntries", "Success"), 2u);
  ASSERT_EQ(r.items.size(), 2u);
  for (const auto& item : r.items) {
    auto c = item.failure_class();
    EXPECT_TRUE(c == cloud::api_error_class::conflict || c == cloud::api_error_class::duplicate)
        << item.failure_code;
  }
  EXPECT_EQ(w.custom_entries(w.s.now()), 2u);
  auto listed = w.run(api.list_route_entries("vtb-abc"));
  for (const auto& e : listed)
    if (e.destination == ipv4_cidr::parse("10.24.2.0/24")) {
      EXPECT_EQ(e.next_hop_id, "i-node2");
    }
}

// The metrics wrapper forwards batches when the cloud has them.
namespace {
struct count_calls {
  std::map<std::string, int> calls;
  void before(std::string_view op) { ++calls[std::string(op)]; }
  void after(std::string_view, std::exception_ptr) {}
};
}  // namespace
static_assert(cloud::batch_route_api<
              cloud::observed_route_api<cloud::basic_aliyun_route_api<vsched>, count_calls>>);

TEST(ServiceTransportBatch, TheObservedClientCountsBatches) {
  batch_world w;
  auto api = w.client();
  count_calls counter;
  cloud::observed_route_api<cloud::basic_aliyun_route_api<vsched>, count_calls> observed(api,
                                                                                         counter);
  EXPECT_EQ(w.run(observed.create_route_entries(captured_routes())).accepted_count(), 2u);
  EXPECT_EQ(counter.calls["CreateRouteEntries"], 1);
}
