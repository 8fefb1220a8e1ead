#include <flanneld_alivpc/metrics.hpp>

#include <gtest/gtest.h>

using namespace flanneld_alivpc;

namespace {
bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}
}  // namespace

TEST(DaemonMetrics, OperatorFactsBecomeTheFamiliesTheAlertsUse) {
  alivpc::backend::backend_status st;
  auto now = alivpc::wall_time(std::chrono::seconds(1'800'000'000));
  alivpc::lease::lease l;
  l.subnet = alivpc::net::ipv4_cidr::parse("10.24.1.0/24");
  l.expiration = now + std::chrono::hours(24);
  st.current_lease = l;
  call_counter cloud("cloud"), etcd("etcd");
  operator_facts f;
  f.version = "1.2.3";
  f.commit = "abc\"def";
  f.openssl = "OpenSSL 3";
  f.renew_margin = std::chrono::minutes(60);
  f.credentials_expiry = now + std::chrono::hours(1);
  f.route_table_entries = {{"vtb-1", 40}};
  f.route_table_quota = 48;
  auto m = render_metrics(st, cloud, etcd, now, {0, 4, 2}, f);
  EXPECT_TRUE(has(m, "\nalivpc_lease_expiry_timestamp_seconds 1800086400")) << m;
  EXPECT_TRUE(has(m, "\nalivpc_lease_renew_margin_seconds 3600")) << m;
  EXPECT_TRUE(has(m, "\nalivpc_cloud_retries_total 4\n")) << m;
  EXPECT_TRUE(has(m, "\nalivpc_cloud_throttles_total 2\n")) << m;
  EXPECT_TRUE(has(m, "\nalivpc_credentials_expiry_timestamp_seconds 1800003600")) << m;
  EXPECT_TRUE(has(m, "\nalivpc_route_table_entries{table=\"vtb-1\"} 40\n")) << m;
  EXPECT_TRUE(has(m, "\nalivpc_route_table_quota{table=\"vtb-1\"} 48\n")) << m;
  EXPECT_TRUE(
      has(m, "alivpc_build_info{version=\"1.2.3\",commit=\"abc\\\"def\",openssl=\"OpenSSL 3\"} 1"))
      << m;
}

TEST(DaemonMetrics, WhatIsNotKnownIsLeftOutRatherThanGuessed) {
  alivpc::backend::backend_status st;
  call_counter cloud("cloud"), etcd("etcd");
  operator_facts f;
  f.route_table_entries = {{"vtb-1", 3}};
  auto m = render_metrics(st, cloud, etcd, alivpc::wall_time(), {}, f);
  EXPECT_FALSE(has(m, "alivpc_lease_expiry_timestamp_seconds")) << "no lease";
  EXPECT_FALSE(has(m, "alivpc_credentials_expiry_timestamp_seconds")) << "long-lived keys";
  EXPECT_FALSE(has(m, "alivpc_route_table_quota")) << "quota not given";
  EXPECT_TRUE(has(m, "alivpc_route_table_entries{table=\"vtb-1\"} 3")) << m;
}
