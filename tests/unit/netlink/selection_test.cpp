// flanneld's external interface rules, on synthetic lists of links, addresses and routes.
#include <alivpc/netlink/interface_selection.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nl = alivpc::netlink;
using alivpc::error_kind;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

nl::interface_selection flags(std::vector<std::string> ifaces,
                              std::vector<std::string> regexes = {}) {
  nl::interface_selection sel;
  sel.ifaces = std::move(ifaces);
  sel.iface_regexes = std::move(regexes);
  return sel;
}

struct host {
  std::vector<nl::link_info> links{{1, "lo", 0x49, 65536},
                                   {2, "eth0", 0x1043, 1500},
                                   {3, "eth1", 0x1043, 9000},
                                   {4, "cni0", 0x1043, 1450},
                                   {5, "bare", 0x1043, 1500}};
  std::vector<nl::address_info> addresses{
      {1, ipv4_address::parse("127.0.0.1"), 8},    {2, ipv4_address::parse("10.0.0.5"), 24},
      {2, ipv4_address::parse("10.0.0.6"), 24},    {3, ipv4_address::parse("169.254.3.3"), 16},
      {3, ipv4_address::parse("172.16.1.10"), 16}, {4, ipv4_address::parse("10.244.1.1"), 24}};
  std::vector<nl::route_info> routes{default_route(2), connected("10.0.0.0/24", 2)};

  static nl::route_info default_route(int link, std::uint32_t table = 254) {
    nl::route_info r;
    r.table = table;
    r.gateway = ipv4_address::parse("10.0.0.1");
    r.output_link_index = link;
    return r;
  }
  static nl::route_info connected(const char* cidr, int link) {
    nl::route_info r;
    r.destination = ipv4_cidr::parse(cidr);
    r.output_link_index = link;
    r.scope = 253;
    return r;
  }
  nl::external_interface select(const nl::interface_selection& sel) const {
    return nl::select_external_interface(sel, links, addresses, routes);
  }
  std::string failure(const nl::interface_selection& sel,
                      error_kind kind = error_kind::not_found) const {
    try {
      select(sel);
    } catch (const alivpc::error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "selection unexpectedly succeeded";
    return "";
  }
};

}  // namespace

TEST(InterfaceSelection, DefaultRouteInterfaceAndItsFirstAddress) {
  host h;
  auto ext = h.select({});
  EXPECT_EQ(ext.link.name, "eth0");
  EXPECT_EQ(ext.address, ipv4_address::parse("10.0.0.5"));
  EXPECT_EQ(ext.public_ip, ext.address);
  EXPECT_EQ(ext.mtu, 1500u);
}

TEST(InterfaceSelection, DefaultRouteOfAnotherTableIsIgnored) {
  host h;
  h.routes = {host::default_route(3, 100), host::default_route(2)};
  EXPECT_EQ(h.select({}).link.name, "eth0");
}

TEST(InterfaceSelection, PublicIpOverridesOnlyThePublicAddress) {
  host h;
  nl::interface_selection sel;
  sel.public_ip = ipv4_address::parse("47.1.2.3");
  auto ext = h.select(sel);
  EXPECT_EQ(ext.address, ipv4_address::parse("10.0.0.5"));
  EXPECT_EQ(ext.public_ip, ipv4_address::parse("47.1.2.3"));
}

TEST(InterfaceSelection, IfaceByNamePrefersGlobalOverLinkLocal) {
  host h;
  auto ext = h.select(flags({"eth1"}));
  EXPECT_EQ(ext.link.name, "eth1");
  EXPECT_EQ(ext.address, ipv4_address::parse("172.16.1.10"));
  EXPECT_EQ(ext.mtu, 9000u);
}

TEST(InterfaceSelection, IfaceByIpUsesThatAddress) {
  host h;
  auto ext = h.select(flags({"10.0.0.6"}));
  EXPECT_EQ(ext.link.name, "eth0");
  EXPECT_EQ(ext.address, ipv4_address::parse("10.0.0.6"));
}

TEST(InterfaceSelection, IfacesAreTriedInOrderAndFailuresAreSkipped) {
  host h;
  auto ext = h.select(flags({"nope0", "bare", "10.9.9.9", "cni0", "eth0"}));
  EXPECT_EQ(ext.link.name, "cni0");
}

TEST(InterfaceSelection, IfaceWinsOverRegexAndRegexesAreTriedInOrder) {
  host h;
  EXPECT_EQ(h.select(flags({"eth1"}, {"^eth0$"})).link.name, "eth1");
  EXPECT_EQ(h.select(flags({"nope"}, {"^zz", "^cni", "^eth"})).link.name, "cni0");
}

TEST(InterfaceSelection, RegexMatchesAddressesBeforeNames) {
  host h;
  // "^eth1$" is a name; "172\\.16\\." an address; an address match on any link wins over names.
  auto by_addr = h.select(flags({}, {"^172\\.16\\."}));
  EXPECT_EQ(by_addr.link.name, "eth1");
  EXPECT_EQ(by_addr.address, ipv4_address::parse("172.16.1.10"));
  auto by_name = h.select(flags({}, {"^eth1$"}));
  EXPECT_EQ(by_name.link.name, "eth1");
  // unanchored like Go's regexp.MatchString: "0\\.6" finds eth0's second address
  EXPECT_EQ(h.select(flags({}, {"0\\.6"})).address, ipv4_address::parse("10.0.0.6"));
}

TEST(InterfaceSelection, NoDefaultRouteIsAClearError) {
  host h;
  h.routes = {host::connected("10.0.0.0/24", 2)};
  auto msg = h.failure({});
  EXPECT_THAT(msg, AllOf(HasSubstr("no default IPv4 route"),
                         HasSubstr("eth0 (10.0.0.5, 10.0.0.6, mtu 1500)"),
                         HasSubstr("bare (no usable IPv4 address")));
}

TEST(InterfaceSelection, BlackholeDefaultRouteHasNoInterface) {
  host h;
  nl::route_info bh;
  bh.type = nl::route_type::blackhole;
  h.routes = {bh};
  EXPECT_THAT(h.failure({}), HasSubstr("default IPv4 route (blackhole) has no interface"));
}

TEST(InterfaceSelection, InterfaceWithoutIpv4IsAClearError) {
  host h;
  h.routes = {host::default_route(5)};
  EXPECT_THAT(h.failure({}), HasSubstr("default route: interface bare has no usable IPv4 address"));
  EXPECT_THAT(h.failure(flags({"bare"})),
              HasSubstr("--iface bare: interface bare has no usable IPv4 address"));
  // loopback addresses are not usable either (flanneld skips them)
  EXPECT_THAT(h.failure(flags({"lo"})), HasSubstr("interface lo has no usable IPv4 address"));
}

TEST(InterfaceSelection, ZeroMtuIsAnError) {
  host h;
  h.links[1].mtu = 0;
  EXPECT_THAT(h.failure({}), HasSubstr("interface eth0 has MTU 0"));
}

TEST(InterfaceSelection, EveryRejectedCandidateIsListed) {
  host h;
  auto msg = h.failure(flags({"nope0", "bare", "10.9.9.9"}, {"^wl"}));
  EXPECT_THAT(msg,
              AllOf(HasSubstr("--iface nope0: no interface with this name"),
                    HasSubstr("--iface bare: interface bare has no usable IPv4 address"),
                    HasSubstr("--iface 10.9.9.9: no interface has this IPv4 address"),
                    HasSubstr("--iface-regex ^wl: matches no interface name or IPv4 address"),
                    HasSubstr("interfaces on this host: lo (no usable IPv4 address, mtu 65536)")));
}

TEST(InterfaceSelection, InvalidRegexIsAnInvalidArgument) {
  host h;
  EXPECT_THAT(h.failure(flags({}, {"(eth"}), error_kind::invalid_argument),
              HasSubstr("--iface-regex \"(eth\" is not a valid regular expression"));
}

TEST(InterfaceSelection, LinkLocalOnlyInterfaceUsesItsLinkLocalAddress) {
  host h;
  h.addresses = {{3, ipv4_address::parse("169.254.3.3"), 16}};
  EXPECT_EQ(h.select(flags({"eth1"})).address, ipv4_address::parse("169.254.3.3"));
}
