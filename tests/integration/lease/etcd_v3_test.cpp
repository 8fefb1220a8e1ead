// GCC 12 warns about designated initializers that leave members at their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <alivpc/lease/etcd_v3_store.hpp>
#include <alivpc_test/etcd_process.hpp>
#include <alivpc_test/run_task.hpp>

#include <gtest/gtest.h>

using namespace alivpc;
using namespace std::chrono_literals;
using alivpc_test::etcd_process;
using alivpc_test::run_task;

namespace {

lease::etcd_options options_for(const etcd_process& etcd) {
  lease::etcd_options o;
  o.endpoints = {http::url::parse(etcd.endpoint())};
  o.watch_wait = 3s;
  return o;
}

lease::lease_attrs node(const char* ip) {
  lease::lease_attrs a;
  a.public_ip = net::ipv4_address::parse(ip);
  return a;
}

}  // namespace

class EtcdV3 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_process::available()) GTEST_SKIP() << "etcd binary not installed";
    etcd_.emplace();
  }
  std::optional<etcd_process> etcd_;
  boost::asio::io_context io_;
  asio_scheduler sched_{io_, 42};
};

TEST_F(EtcdV3, ReadsConfigWrittenByEtcdctlPut) {
  etcd_->etcdctl("put /coreos.com/network/config " +
                 etcd_process::quote(R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})"));
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, store.get_network_config());
  EXPECT_EQ(cfg.network->to_string(), "10.24.0.0/16");
  EXPECT_EQ(cfg.subnet_len, 24);
  EXPECT_EQ(cfg.backend.type, "ali-vpc");
}

TEST_F(EtcdV3, MissingConfigSaysWhereItLookedAndHowToPublish) {
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  try {
    run_task(io_, store.get_network_config());
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found);
    std::string m = e.what();
    EXPECT_NE(m.find("/coreos.com/network/config"), std::string::npos) << m;
    EXPECT_NE(m.find(etcd_->endpoint()), std::string::npos) << m;
    EXPECT_NE(m.find("etcdctl put /coreos.com/network/config '{\"Network\":\"10.24.0.0/16\""),
              std::string::npos)
        << m;
  }
}

TEST_F(EtcdV3, LeaseKeyAndValueMatchFlannelLayout) {
  etcd_->etcdctl("put /coreos.com/network/config " +
                 etcd_process::quote(R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})"));
  lease::etcd_v3_store store(sched_, options_for(*etcd_));
  auto cfg = run_task(io_, store.get_network_config());
  auto l = run_task(io_, store.acquire_lease(cfg, node("192.168.0.12"), std::nullopt, 24h));
  EXPECT_TRUE(cfg.network->contains(l.subnet.network()));
  EXPECT_EQ(l.subnet.prefix_length(), 24);
  EXPECT_NE(l.lease_id, 0);
  auto key = "/coreos.com/network/subnets/" + lease::subnet_key(l.subnet);
  auto out = etcd_->etcdctl("get " + key);
  EXPECT_EQ(
      out,
      key + "\n" +
          R"({"PublicIP":"192.168.0.12","PublicIPv6":null,"BackendType":"ali-vpc","BackendData":null})" +
          "\n");
  auto ttl = etcd_->etcdctl("lease timetolive " + [&] {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(l.lease_id));
    return std::string(hex);
  }());
  EXPECT_NE(ttl.find("granted with TTL(86400s)"), std::string::npos) << ttl;
}
