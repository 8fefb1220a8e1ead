// rtnetlink_host against the real kernel, inside a fresh network namespace each test creates
// (unshare(CLONE_NEWNET) on the test thread; the original namespace is restored afterwards, and
// the new one, with its veth pairs, disappears). The scene is built with `ip`, and what the
// library reports is compared with `ip -j` output. No packet is sent anywhere.
#include <alivpc/netlink/rtnetlink_host.hpp>
#include <alivpc/sim/fake_host_network.hpp>
#include <alivpc_test/net_namespace.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include <unistd.h>

namespace nl = alivpc::netlink;
using alivpc::error_kind;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;
using ::testing::HasSubstr;

namespace {

nl::interface_selection flags(std::vector<std::string> ifaces,
                              std::vector<std::string> regexes = {}) {
  nl::interface_selection sel;
  sel.ifaces = std::move(ifaces);
  sel.iface_regexes = std::move(regexes);
  return sel;
}

nl::route_info via(const char* dst, const char* gw) {
  nl::route_info r;
  r.destination = ipv4_cidr::parse(dst);
  r.gateway = ipv4_address::parse(gw);
  return r;
}

nl::route_info blackhole(const char* dst) {
  nl::route_info r;
  r.destination = ipv4_cidr::parse(dst);
  r.type = nl::route_type::blackhole;
  return r;
}

// The errno of a netlink_error thrown by fn, 0 when it succeeds.
int errno_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const nl::netlink_error& e) {
    return e.code().value();
  }
  return 0;
}

class NetlinkNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP()
          << "not root: creating a network namespace needs CAP_SYS_ADMIN (CI runs as root)";
    ASSERT_EQ(namespace_.enter(), "");
    // A fresh namespace holds only loopback; anything else means we are not where we think.
    ASSERT_EQ(ip_json("ip -j link").size(), 1u);
    sh("ip link set lo up");
  }

  static void sh(const std::string& command) {
    int rc = std::system((command + " 2>&1").c_str());
    ASSERT_EQ(rc, 0) << command;
  }

  static nlohmann::json ip_json(const std::string& command) {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buf[4096];
      while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
      ::pclose(p);
    }
    return nlohmann::json::parse(out.empty() ? "[]" : out);
  }

  // Two veth pairs: eth-a (MTU 1400, 10.50.0.2/24, default route via 10.50.0.1) and eth-b
  // (MTU 9000, 10.60.0.2/24), each with its peer up so connected routes exist.
  void two_uplinks(bool default_route = true) {
    sh("ip link add eth-a type veth peer name peer-a");
    sh("ip link add eth-b type veth peer name peer-b");
    sh("ip link set eth-a mtu 1400 && ip link set peer-a mtu 1400");
    sh("ip link set eth-b mtu 9000 && ip link set peer-b mtu 9000");
    for (auto l : {"eth-a", "peer-a", "eth-b", "peer-b"})
      sh(std::string("ip link set ") + l + " up");
    sh("ip addr add 10.50.0.2/24 dev eth-a");
    sh("ip addr add 10.60.0.2/24 dev eth-b");
    if (default_route) sh("ip route add default via 10.50.0.1");
  }

  int index_of(const std::string& name) {
    for (const auto& l : ip_json("ip -j link"))
      if (l["ifname"] == name) return l["ifindex"].get<int>();
    ADD_FAILURE() << "no link " << name;
    return -1;
  }

  // `ip -j -4 route show table main` as route_info values.
  std::vector<nl::route_info> ip_main_routes() {
    std::vector<nl::route_info> out;
    for (const auto& j : ip_json("ip -j -4 route show table main")) {
      nl::route_info r;
      std::string dst = j["dst"];
      r.destination = dst == "default"                     ? ipv4_cidr{}
                      : dst.find('/') == std::string::npos ? ipv4_cidr(ipv4_address::parse(dst), 32)
                                                           : ipv4_cidr::parse(dst);
      if (j.contains("gateway")) r.gateway = ipv4_address::parse(j["gateway"].get<std::string>());
      if (j.contains("dev")) r.output_link_index = index_of(j["dev"]);
      if (j.contains("type") && j["type"] == "blackhole") r.type = nl::route_type::blackhole;
      out.push_back(r);
    }
    return out;
  }

  const nl::route_info* find(const std::vector<nl::route_info>& routes, const char* dst) {
    for (const auto& r : routes)
      if (r.destination == ipv4_cidr::parse(dst)) return &r;
    return nullptr;
  }

  alivpc_test::own_net_namespace namespace_;
};

std::vector<nl::route_info> main_table(std::vector<nl::route_info> routes) {
  std::erase_if(routes, [](const auto& r) { return r.table != 254; });
  return routes;
}

}  // namespace

TEST_F(NetlinkNamespace, LinksAddressesAndRoutesMatchIp) {
  two_uplinks();
  nl::rtnetlink_host host;
  auto links = host.list_links();
  auto ip_links = ip_json("ip -j link");
  ASSERT_EQ(links.size(), ip_links.size());
  for (std::size_t i = 0; i < links.size(); ++i) {
    EXPECT_EQ(links[i].index, ip_links[i]["ifindex"].get<int>());
    EXPECT_EQ(links[i].name, ip_links[i]["ifname"].get<std::string>());
    EXPECT_EQ(links[i].mtu, ip_links[i]["mtu"].get<std::uint32_t>());
  }

  std::vector<std::pair<std::string, std::string>> ours, theirs;
  for (const auto& a : host.list_ipv4_addresses())
    for (const auto& l : links)
      if (l.index == a.link_index)
        ours.emplace_back(l.name, a.address.to_string() + "/" + std::to_string(a.prefix_length));
  for (const auto& l : ip_json("ip -j -4 addr"))
    for (const auto& a : l["addr_info"])
      theirs.emplace_back(l["ifname"], a["local"].get<std::string>() + "/" +
                                           std::to_string(a["prefixlen"].get<int>()));
  EXPECT_EQ(ours, theirs);

  auto routes = main_table(host.list_ipv4_routes());
  auto expected = ip_main_routes();
  ASSERT_EQ(routes.size(), expected.size());
  for (std::size_t i = 0; i < routes.size(); ++i) {
    EXPECT_EQ(routes[i].destination, expected[i].destination);
    EXPECT_EQ(routes[i].gateway, expected[i].gateway);
    EXPECT_EQ(routes[i].output_link_index, expected[i].output_link_index);
    EXPECT_EQ(routes[i].type, expected[i].type);
  }
  // The local table is listed too.
  auto all = host.list_ipv4_routes();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const auto& r) {
    return r.table == 255 && r.type == nl::route_type::local &&
           r.destination == ipv4_cidr::parse("10.50.0.2/32");
  }));
}

TEST_F(NetlinkNamespace, SelectsTheDefaultRouteInterface) {
  two_uplinks();
  nl::rtnetlink_host host;
  auto ext = host.select_external_interface({});
  EXPECT_EQ(ext.link.name, "eth-a");
  EXPECT_EQ(ext.link.index, index_of("eth-a"));
  EXPECT_EQ(ext.address, ipv4_address::parse("10.50.0.2"));
  EXPECT_EQ(ext.public_ip, ext.address);
  EXPECT_EQ(ext.mtu, 1400u);
}

TEST_F(NetlinkNamespace, SelectsByIfaceNameAndIp) {
  two_uplinks();
  sh("ip addr add 10.60.0.3/24 dev eth-b");
  nl::rtnetlink_host host;
  auto by_name = host.select_external_interface(flags({"missing0", "eth-b"}));
  EXPECT_EQ(by_name.link.name, "eth-b");
  EXPECT_EQ(by_name.address, ipv4_address::parse("10.60.0.2"));
  EXPECT_EQ(by_name.mtu, 9000u);
  auto by_ip = host.select_external_interface(flags({"10.60.0.3"}));
  EXPECT_EQ(by_ip.link.name, "eth-b");
  EXPECT_EQ(by_ip.address, ipv4_address::parse("10.60.0.3"));
}

TEST_F(NetlinkNamespace, SelectsByIfaceRegex) {
  two_uplinks();
  nl::rtnetlink_host host;
  EXPECT_EQ(host.select_external_interface(flags({}, {"^wlan", "^eth-b$"})).link.name, "eth-b");
  auto by_addr = host.select_external_interface(flags({}, {"^10\\.60\\."}));
  EXPECT_EQ(by_addr.link.name, "eth-b");
  EXPECT_EQ(by_addr.address, ipv4_address::parse("10.60.0.2"));
}

TEST_F(NetlinkNamespace, NoDefaultRouteIsAClearError) {
  two_uplinks(false);
  nl::rtnetlink_host host;
  try {
    host.select_external_interface({});
    FAIL() << "selected an interface without a default route";
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), error_kind::not_found);
    EXPECT_THAT(e.what(), HasSubstr("there is no default IPv4 route in the main table"));
    EXPECT_THAT(e.what(), HasSubstr("eth-a (10.50.0.2, mtu 1400)"));
    EXPECT_THAT(e.what(), HasSubstr("eth-b (10.60.0.2, mtu 9000)"));
  }
}

TEST_F(NetlinkNamespace, InterfaceWithoutIpv4IsAClearError) {
  sh("ip link add bare0 type veth peer name bare1");
  sh("ip link set bare0 up && ip link set bare1 up");
  sh("ip route add default dev bare0");
  nl::rtnetlink_host host;
  for (const auto& sel : {nl::interface_selection{}, flags({"bare0"})}) {
    try {
      host.select_external_interface(sel);
      FAIL() << "selected an interface without IPv4";
    } catch (const alivpc::error& e) {
      EXPECT_THAT(e.what(), HasSubstr("interface bare0 has no usable IPv4 address"));
    }
  }
}

TEST_F(NetlinkNamespace, RouteAddReplaceDeleteRoundTrip) {
  two_uplinks();
  nl::rtnetlink_host host;
  auto route = via("10.244.1.0/24", "10.50.0.9");
  host.add_route(route);
  auto seen = ip_main_routes();
  ASSERT_NE(find(seen, "10.244.1.0/24"), nullptr);
  EXPECT_EQ(find(seen, "10.244.1.0/24")->gateway, ipv4_address::parse("10.50.0.9"));
  EXPECT_EQ(find(seen, "10.244.1.0/24")->output_link_index, index_of("eth-a"));

  // Adding it again: EEXIST, a conflict, naming the route.
  try {
    host.add_route(route);
    FAIL() << "added an existing route";
  } catch (const nl::netlink_error& e) {
    EXPECT_EQ(e.code(), std::error_code(EEXIST, std::system_category()));
    EXPECT_EQ(e.kind(), error_kind::conflict);
    EXPECT_THAT(
        e.what(),
        HasSubstr("add route 10.244.1.0/24 via 10.50.0.9 table 254 failed: File exists (EEXIST)"));
  }

  host.replace_route(via("10.244.1.0/24", "10.60.0.9"));
  seen = ip_main_routes();
  ASSERT_NE(find(seen, "10.244.1.0/24"), nullptr);
  EXPECT_EQ(find(seen, "10.244.1.0/24")->gateway, ipv4_address::parse("10.60.0.9"));
  EXPECT_EQ(find(seen, "10.244.1.0/24")->output_link_index, index_of("eth-b"));
  // Replace also creates.
  host.replace_route(via("10.244.2.0/24", "10.60.0.9"));
  EXPECT_NE(find(ip_main_routes(), "10.244.2.0/24"), nullptr);

  // Deleting with the old gateway matches nothing; with the current one it goes.
  EXPECT_EQ(errno_of([&] { host.delete_route(route); }), ESRCH);
  host.delete_route(via("10.244.1.0/24", "10.60.0.9"));
  EXPECT_EQ(find(ip_main_routes(), "10.244.1.0/24"), nullptr);
  try {
    host.delete_route(via("10.244.1.0/24", "10.60.0.9"));
    FAIL() << "deleted a missing route";
  } catch (const nl::netlink_error& e) {
    EXPECT_EQ(e.code().value(), ESRCH);
    EXPECT_EQ(e.kind(), error_kind::not_found);
  }
}

TEST_F(NetlinkNamespace, RoutesInAnotherTable) {
  two_uplinks();
  nl::rtnetlink_host host;
  auto r = via("10.244.7.0/24", "10.50.0.9");
  r.table = 1000;
  host.add_route(r);
  auto j = ip_json("ip -j -4 route show table 1000");
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["dst"], "10.244.7.0/24");
  auto listed = host.list_ipv4_routes();
  EXPECT_TRUE(std::any_of(listed.begin(), listed.end(), [](const auto& x) {
    return x.table == 1000 && x.destination == ipv4_cidr::parse("10.244.7.0/24");
  }));
  host.delete_route(r);
  EXPECT_EQ(ip_json("ip -j -4 route show table 1000").size(), 0u);
}

TEST_F(NetlinkNamespace, BlackholeRoutes) {
  two_uplinks();
  nl::rtnetlink_host host;
  host.add_route(blackhole("10.244.0.0/16"));
  auto seen = ip_main_routes();
  ASSERT_NE(find(seen, "10.244.0.0/16"), nullptr);
  EXPECT_EQ(find(seen, "10.244.0.0/16")->type, nl::route_type::blackhole);
  EXPECT_EQ(errno_of([&] { host.add_route(blackhole("10.244.0.0/16")); }), EEXIST);
  // The kernel refuses to resolve a destination that would be dropped.
  EXPECT_EQ(errno_of([&] { host.get_route_to(ipv4_address::parse("10.244.3.3")); }), EINVAL);
  host.delete_route(nl::rtnetlink_host::blackhole(ipv4_cidr::parse("10.244.0.0/16")));
  EXPECT_EQ(find(ip_main_routes(), "10.244.0.0/16"), nullptr);
  EXPECT_EQ(errno_of([&] { host.delete_route(blackhole("10.244.0.0/16")); }), ESRCH);
}

TEST_F(NetlinkNamespace, GetRouteToAnAddress) {
  two_uplinks();
  nl::rtnetlink_host host;
  auto connected = host.get_route_to(ipv4_address::parse("10.60.0.77"));
  EXPECT_EQ(connected.output_link_index, index_of("eth-b"));
  EXPECT_FALSE(connected.gateway.has_value());
  EXPECT_EQ(connected.preferred_source, ipv4_address::parse("10.60.0.2"));
  EXPECT_EQ(connected.destination, ipv4_cidr::parse("10.60.0.77/32"));
  EXPECT_EQ(connected.table, 254u);
  auto off_link = host.get_route_to(ipv4_address::parse("192.0.2.1"));  // TEST-NET-1, via default
  EXPECT_EQ(off_link.gateway, ipv4_address::parse("10.50.0.1"));
  EXPECT_EQ(off_link.output_link_index, index_of("eth-a"));
  sh("ip route del default");
  EXPECT_EQ(errno_of([&] { host.get_route_to(ipv4_address::parse("192.0.2.1")); }), ENETUNREACH);
}

TEST_F(NetlinkNamespace, KernelExplanationIsInTheMessage) {
  two_uplinks();
  nl::rtnetlink_host host;
  try {
    host.add_route(via("10.244.9.0/24", "192.0.2.1"));  // gateway not on any link
    FAIL();
  } catch (const nl::netlink_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Nexthop has invalid gateway"));
  }
}

TEST_F(NetlinkNamespace, FakeHostAgreesWithTheKernel) {
  two_uplinks();
  nl::rtnetlink_host real;
  alivpc::sim::fake_host_network fake;
  int a = fake.add_link("eth-a", 1400), b = fake.add_link("eth-b", 9000);
  fake.add_address(a, ipv4_address::parse("10.50.0.2"), 24);
  fake.add_address(b, ipv4_address::parse("10.60.0.2"), 24);
  fake.add_route(via("0.0.0.0/0", "10.50.0.1"));
  struct step {
    const char* what;
    nl::route_change change;
    nl::route_info route;
  };
  std::vector<step> steps = {
      {"add", nl::route_change::add, via("10.244.1.0/24", "10.50.0.9")},
      {"add again", nl::route_change::add, via("10.244.1.0/24", "10.60.0.9")},
      {"replace", nl::route_change::replace, via("10.244.1.0/24", "10.60.0.9")},
      {"delete stale", nl::route_change::remove, via("10.244.1.0/24", "10.50.0.9")},
      {"delete", nl::route_change::remove, via("10.244.1.0/24", "10.60.0.9")},
      {"delete missing", nl::route_change::remove, via("10.244.1.0/24", "10.60.0.9")},
      {"bad gateway", nl::route_change::add, via("10.244.2.0/24", "192.0.2.1")},
      {"blackhole", nl::route_change::add, blackhole("10.244.0.0/16")},
      {"blackhole again", nl::route_change::add, blackhole("10.244.0.0/16")},
  };
  auto apply = [](auto& host, const step& s) {
    return errno_of([&] {
      if (s.change == nl::route_change::add) host.add_route(s.route);
      if (s.change == nl::route_change::replace) host.replace_route(s.route);
      if (s.change == nl::route_change::remove) host.delete_route(s.route);
    });
  };
  for (const auto& s : steps)
    EXPECT_EQ(apply(real, s), apply(fake, s)) << s.what;
  // Same main table (modulo how the kernel renumbers links: compare by name).
  auto key = [](const std::vector<nl::route_info>& routes,
                const std::vector<nl::link_info>& links) {
    std::vector<std::string> out;
    for (const auto& r : routes) {
      if (r.table != 254) continue;
      std::string dev;
      for (const auto& l : links)
        if (l.index == r.output_link_index) dev = l.name;
      std::string gw = r.gateway ? r.gateway->to_string() : "-";
      std::string line(nl::to_string(r.type));
      line += ' ';
      line += r.destination.network().to_string();
      line += '/';
      line += std::to_string(r.destination.prefix_length());
      line += " via ";
      line += gw;
      line += " dev ";
      line += dev;
      out.push_back(std::move(line));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(key(real.list_ipv4_routes(), real.list_links()),
            key(fake.list_ipv4_routes(), fake.list_links()));
  EXPECT_EQ(real.select_external_interface({}).address, fake.select_external_interface({}).address);
}

TEST_F(NetlinkNamespace, ChangeNotifications) {
  sh("ip link add note0 type veth peer name note1");
  nl::rtnetlink_host host;
  auto sub = host.subscribe_changes();
  sh("ip link set note0 mtu 1300");
  sh("ip addr add 10.70.0.2/24 dev note0");
  sh("ip addr del 10.70.0.2/24 dev note0");
  bool mtu_seen = false, added = false, removed = false;
  // Bounded wait for the three notifications (the kernel queues them synchronously).
  for (int i = 0; i < 50 && !(mtu_seen && added && removed); ++i) {
    for (const auto& c : sub.wait(std::chrono::milliseconds(100))) {
      using k = nl::network_change::kind;
      if (c.what == k::link_changed && c.link.name == "note0" && c.link.mtu == 1300)
        mtu_seen = true;
      if (c.what == k::address_added && c.address.address == ipv4_address::parse("10.70.0.2"))
        added = true;
      if (c.what == k::address_removed && c.address.address == ipv4_address::parse("10.70.0.2"))
        removed = true;
    }
  }
  EXPECT_TRUE(mtu_seen);
  EXPECT_TRUE(added);
  EXPECT_TRUE(removed);
}
