// The simulator's host network behaves like the kernel for the operations the backend uses.
#include <alivpc/sim/fake_host_network.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nl = alivpc::netlink;
using alivpc::error_kind;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;
using alivpc::sim::fake_host_network;
using ::testing::HasSubstr;

namespace {

nl::interface_selection flags(std::vector<std::string> ifaces,
                              std::vector<std::string> regexes = {}) {
  nl::interface_selection sel;
  sel.ifaces = std::move(ifaces);
  sel.iface_regexes = std::move(regexes);
  return sel;
}

int errno_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const nl::netlink_error& e) {
    return e.code().value();
  }
  return 0;
}

nl::route_info via(const char* dst, const char* gw, int link = 0) {
  nl::route_info r;
  r.destination = ipv4_cidr::parse(dst);
  r.gateway = ipv4_address::parse(gw);
  r.output_link_index = link;
  return r;
}

struct scene {
  fake_host_network host;
  int eth0 = host.add_link("eth0", 1500);
  int eth1 = host.add_link("eth1", 9000);
  scene() {
    host.add_address(eth0, ipv4_address::parse("192.168.1.10"), 24);
    host.add_address(eth1, ipv4_address::parse("172.16.0.2"), 16);
    host.add_route(via("0.0.0.0/0", "192.168.1.1"));
  }
};

}  // namespace

TEST(FakeHostNetwork, AddressesBringConnectedAndLocalRoutes) {
  scene s;
  auto routes = s.host.list_ipv4_routes();
  auto has = [&](std::uint32_t table, const char* dst, nl::route_type type) {
    return std::any_of(routes.begin(), routes.end(), [&](const auto& r) {
      return r.table == table && r.destination == ipv4_cidr::parse(dst) && r.type == type;
    });
  };
  EXPECT_TRUE(has(254, "192.168.1.0/24", nl::route_type::unicast));
  EXPECT_TRUE(has(255, "192.168.1.10/32", nl::route_type::local));
  EXPECT_TRUE(has(254, "0.0.0.0/0", nl::route_type::unicast));
}

TEST(FakeHostNetwork, SelectsTheDefaultRouteInterface) {
  scene s;
  auto ext = s.host.select_external_interface({});
  EXPECT_EQ(ext.link.name, "eth0");
  EXPECT_EQ(ext.address, ipv4_address::parse("192.168.1.10"));
  EXPECT_EQ(s.host.select_external_interface(flags({"172.16.0.2"})).mtu, 9000u);
}

TEST(FakeHostNetwork, AddExistingIsEexistReplaceOverwritesDeleteMissingIsEsrch) {
  scene s;
  auto r = via("10.244.1.0/24", "192.168.1.20");
  s.host.add_route(r);
  EXPECT_EQ(errno_of([&] { s.host.add_route(via("10.244.1.0/24", "172.16.0.9")); }), EEXIST);
  s.host.replace_route(via("10.244.1.0/24", "172.16.0.9"));
  auto got = s.host.get_route_to(ipv4_address::parse("10.244.1.7"));
  EXPECT_EQ(got.gateway, ipv4_address::parse("172.16.0.9"));
  EXPECT_EQ(got.output_link_index, s.eth1);  // resolved from the connected subnet
  EXPECT_EQ(errno_of([&] { s.host.delete_route(r); }), ESRCH);  // gateway no longer matches
  s.host.delete_route(via("10.244.1.0/24", "172.16.0.9"));
  EXPECT_EQ(errno_of([&] { s.host.delete_route(via("10.244.1.0/24", "172.16.0.9")); }), ESRCH);
}

TEST(FakeHostNetwork, ErrorsAreTypedLikeTheRealHost) {
  scene s;
  s.host.add_route(via("10.244.2.0/24", "192.168.1.20"));
  try {
    s.host.add_route(via("10.244.2.0/24", "192.168.1.20"));
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), error_kind::conflict);
    EXPECT_THAT(e.what(), HasSubstr("add route 10.244.2.0/24 via 192.168.1.20"));
    EXPECT_THAT(e.what(), HasSubstr("(EEXIST)"));
  }
}

TEST(FakeHostNetwork, NextHopsAreChecked) {
  scene s;
  EXPECT_EQ(errno_of([&] { s.host.add_route(via("10.244.3.0/24", "8.8.8.8")); }), ENETUNREACH);
  EXPECT_EQ(errno_of([&] { s.host.add_route(via("10.244.3.0/24", "192.168.1.20", 99)); }), ENODEV);
  EXPECT_EQ(errno_of([&] { s.host.add_route(via("10.244.3.0/24", "192.168.1.20", s.eth1)); }),
            ENETUNREACH);
}

TEST(FakeHostNetwork, BlackholeRoutesRoundTrip) {
  scene s;
  nl::route_info bh;
  bh.destination = ipv4_cidr::parse("10.244.0.0/16");
  bh.type = nl::route_type::blackhole;
  s.host.add_route(bh);
  EXPECT_EQ(errno_of([&] { s.host.get_route_to(ipv4_address::parse("10.244.9.9")); }), EINVAL);
  EXPECT_EQ(errno_of([&] { s.host.add_route(bh); }), EEXIST);
  s.host.delete_route(bh);
  EXPECT_EQ(errno_of([&] { s.host.delete_route(bh); }), ESRCH);
}

TEST(FakeHostNetwork, RemovingALinkRemovesItsRoutesAndAddresses) {
  scene s;
  s.host.add_route(via("10.244.4.0/24", "172.16.0.9"));
  s.host.remove_link(s.eth1);
  for (const auto& r : s.host.list_ipv4_routes())
    EXPECT_NE(r.output_link_index, s.eth1);
  for (const auto& a : s.host.list_ipv4_addresses())
    EXPECT_NE(a.link_index, s.eth1);
  EXPECT_EQ(errno_of([&] { s.host.get_route_to(ipv4_address::parse("172.16.0.1")); }),
            0);  // default route
}

TEST(FakeHostNetwork, InjectedFailuresHitTheNextChanges) {
  scene s;
  s.host.fail_next_route_changes(EBUSY, 1);
  EXPECT_EQ(errno_of([&] { s.host.replace_route(via("10.244.5.0/24", "192.168.1.20")); }), EBUSY);
  s.host.replace_route(via("10.244.5.0/24", "192.168.1.20"));
}

TEST(FakeHostNetwork, NoRouteIsEnetunreach) {
  fake_host_network host;
  EXPECT_EQ(errno_of([&] { host.get_route_to(ipv4_address::parse("8.8.8.8")); }), ENETUNREACH);
  EXPECT_THAT([&] { host.select_external_interface({}); }, ::testing::Throws<alivpc::error>());
}
