// Length checks of the datagram/attribute splitter and the message decoders: well-formed
// messages decode, every malformed or truncated one is an alivpc::error(parse), never a crash.
#include <alivpc/netlink/messages.hpp>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstring>
#include <vector>

namespace nl = alivpc::netlink;
using alivpc::error_kind;
using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;

namespace {

std::vector<std::uint8_t> as_reply(const nl::message_builder& b, std::uint16_t type,
                                   std::uint32_t seq = 7) {
  auto bytes = b.finish(seq);
  nlmsghdr h;
  std::memcpy(&h, bytes.data(), sizeof h);
  h.nlmsg_type = type;
  std::memcpy(bytes.data(), &h, sizeof h);
  return bytes;
}

std::vector<std::uint8_t> route_message() {
  nl::route_info r;
  r.destination = ipv4_cidr::parse("10.244.3.0/24");
  r.gateway = ipv4_address::parse("192.168.1.1");
  r.output_link_index = 3;
  r.table = 1000;
  return as_reply(nl::route_change_request(nl::route_change::replace, r), RTM_NEWROUTE);
}

std::vector<std::uint8_t> link_message(const char* name, std::uint32_t mtu) {
  nl::message_builder b(RTM_NEWLINK, 0);
  ifinfomsg m{};
  m.ifi_index = 4;
  m.ifi_flags = 0x1043;
  b.family_header(m)
      .attribute(IFLA_IFNAME, name, std::strlen(name) + 1)
      .attribute_u32(IFLA_MTU, mtu);
  return b.finish(1);
}

void expect_parse_error(const std::vector<std::uint8_t>& bytes) {
  try {
    nl::decode_datagram(bytes);
    FAIL() << "malformed datagram of " << bytes.size() << " bytes was accepted";
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), error_kind::parse) << e.what();
  }
}

void set_u32(std::vector<std::uint8_t>& b, std::size_t offset, std::uint32_t v) {
  std::memcpy(b.data() + offset, &v, 4);
}
void set_u16(std::vector<std::uint8_t>& b, std::size_t offset, std::uint16_t v) {
  std::memcpy(b.data() + offset, &v, 2);
}

}  // namespace

TEST(NetlinkAttributes, RouteRequestDecodesBackToTheSameRoute) {
  auto decoded = nl::decode_datagram(route_message());
  ASSERT_EQ(decoded.size(), 1u);
  auto* r = std::get_if<nl::route_info>(&decoded[0]);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->destination, ipv4_cidr::parse("10.244.3.0/24"));
  EXPECT_EQ(r->gateway, ipv4_address::parse("192.168.1.1"));
  EXPECT_EQ(r->output_link_index, 3);
  EXPECT_EQ(r->table, 1000u);  // from RTA_TABLE; rtm_table cannot hold it
  EXPECT_EQ(r->type, nl::route_type::unicast);
}

TEST(NetlinkAttributes, LinkDecodesNameMtuAndFlags) {
  auto decoded = nl::decode_datagram(link_message("eth0", 9001));
  ASSERT_EQ(decoded.size(), 1u);
  auto l = std::get<nl::link_info>(decoded[0]);
  EXPECT_EQ(l, (nl::link_info{4, "eth0", 0x1043, 9001}));
}

TEST(NetlinkAttributes, SeveralMessagesInOneDatagram) {
  auto bytes = link_message("a", 1500);
  auto second = route_message();
  bytes.insert(bytes.end(), second.begin(), second.end());
  auto decoded = nl::decode_datagram(bytes);
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<nl::link_info>(decoded[0]));
  EXPECT_TRUE(std::holds_alternative<nl::route_info>(decoded[1]));
}

TEST(NetlinkAttributes, EveryTruncationIsAParseErrorOrAShorterValidMessage) {
  auto full = route_message();
  for (std::size_t n = 1; n < full.size(); ++n) {
    std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    expect_parse_error(cut);  // nlmsg_len still claims the full size
  }
}

TEST(NetlinkAttributes, MessageLengthFieldsAreChecked) {
  auto bytes = link_message("eth0", 1500);
  auto small = bytes;
  set_u32(small, 0, 8);  // shorter than the header itself
  expect_parse_error(small);
  auto big = bytes;
  set_u32(big, 0, static_cast<std::uint32_t>(bytes.size() + 4));
  expect_parse_error(big);
}

TEST(NetlinkAttributes, AttributeLengthFieldsAreChecked) {
  auto bytes = link_message("eth0", 1500);
  std::size_t first_attr = sizeof(nlmsghdr) + sizeof(ifinfomsg);
  auto tiny = bytes;
  set_u16(tiny, first_attr, 2);  // below the 4-byte attribute header
  expect_parse_error(tiny);
  auto overrun = bytes;
  set_u16(overrun, first_attr, 200);
  expect_parse_error(overrun);
}

TEST(NetlinkAttributes, AttributePayloadSizesAreChecked) {
  nl::message_builder b(RTM_NEWLINK, 0);
  ifinfomsg m{};
  std::uint16_t short_mtu = 1500;
  b.family_header(m).attribute(IFLA_MTU, &short_mtu, sizeof short_mtu);
  expect_parse_error(b.finish(1));

  nl::message_builder unterminated(RTM_NEWLINK, 0);
  unterminated.family_header(m).attribute(IFLA_IFNAME, "eth0", 4);
  expect_parse_error(unterminated.finish(1));

  nl::message_builder bad_gateway(RTM_NEWROUTE, 0);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  std::uint8_t three[3] = {10, 0, 0};
  bad_gateway.family_header(rt).attribute(RTA_GATEWAY, three, 3);
  expect_parse_error(bad_gateway.finish(1));
}

TEST(NetlinkAttributes, PrefixLengthsOver32AreRejected) {
  nl::message_builder route(RTM_NEWROUTE, 0);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_dst_len = 33;
  route.family_header(rt);
  expect_parse_error(route.finish(1));

  nl::message_builder addr(RTM_NEWADDR, 0);
  ifaddrmsg a{};
  a.ifa_family = AF_INET;
  a.ifa_prefixlen = 40;
  addr.family_header(a).attribute_ipv4(IFA_LOCAL, ipv4_address::parse("10.0.0.1"));
  expect_parse_error(addr.finish(1));
}

TEST(NetlinkAttributes, ShortFamilyHeaderIsRejected) {
  nl::message_builder b(RTM_NEWROUTE, 0);
  std::uint32_t four = 0;
  b.family_header(four);  // an rtmsg is 12 bytes
  expect_parse_error(b.finish(1));
}

TEST(NetlinkAttributes, NonIpv4AddressesAndRoutesAreIgnored) {
  nl::message_builder b(RTM_NEWROUTE, 0);
  rtmsg rt{};
  rt.rtm_family = AF_INET6;
  rt.rtm_dst_len = 64;
  b.family_header(rt);
  auto decoded = nl::decode_datagram(b.finish(1));
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<nl::ignored_message>(decoded[0]));
}

TEST(NetlinkAttributes, ErrorWithExtendedAckCarriesTheKernelText) {
  // A capped NLMSG_ERROR (as with NETLINK_CAP_ACK): nlmsgerr, then NLMSGERR_ATTR_MSG.
  nl::message_builder b(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS);
  nlmsgerr e{};
  e.error = -EEXIST;
  e.msg.nlmsg_seq = 42;
  const char text[] = "Nexthop has invalid gateway";
  b.family_header(e).attribute(NLMSGERR_ATTR_MSG, text, sizeof text);
  auto decoded = nl::decode_datagram(b.finish(42));
  auto ack = std::get<nl::kernel_ack>(decoded.at(0));
  EXPECT_EQ(ack.error, EEXIST);
  EXPECT_EQ(ack.sequence, 42u);
  EXPECT_EQ(ack.detail, "Nexthop has invalid gateway");
}

TEST(NetlinkAttributes, ErrorWithUncappedEchoFindsTlvsAfterTheEcho) {
  // An uncapped NLMSG_ERROR: the errno, the whole echoed request, then NLMSGERR_ATTR_MSG.
  auto echoed = route_message();
  int err = -ESRCH;
  std::vector<std::uint8_t> body(sizeof err);
  std::memcpy(body.data(), &err, sizeof err);
  body.insert(body.end(), echoed.begin(), echoed.end());
  const char text[] = "no such route";
  std::vector<std::uint8_t> out(sizeof(nlmsghdr));
  out.insert(out.end(), body.begin(), body.end());
  out.resize(alivpc::netlink::detail::align4(out.size()));
  nlattr a{static_cast<std::uint16_t>(sizeof(nlattr) + sizeof text), NLMSGERR_ATTR_MSG};
  out.insert(out.end(), reinterpret_cast<std::uint8_t*>(&a),
             reinterpret_cast<std::uint8_t*>(&a) + sizeof a);
  out.insert(out.end(), text, text + sizeof text);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(out.size());
  h.nlmsg_type = NLMSG_ERROR;
  h.nlmsg_flags = NLM_F_ACK_TLVS;
  std::memcpy(out.data(), &h, sizeof h);
  auto ack = std::get<nl::kernel_ack>(nl::decode_datagram(out).at(0));
  EXPECT_EQ(ack.error, ESRCH);
  EXPECT_EQ(ack.detail, "no such route");

  auto lying = out;  // echoed length pointing past the end
  set_u32(lying, sizeof(nlmsghdr) + sizeof(int), 4000);
  expect_parse_error(lying);
}

TEST(NetlinkAttributes, DoneCarriesADumpError) {
  nl::message_builder b(NLMSG_DONE, NLM_F_MULTI);
  int e = -EINTR;
  b.family_header(e);
  EXPECT_EQ(std::get<nl::done_marker>(nl::decode_datagram(b.finish(1)).at(0)).error, EINTR);
}

RC_GTEST_PROP(NetlinkAttributes, RandomBytesDecodeOrFailWithParseError,
              (std::vector<std::uint8_t> bytes)) {
  try {
    nl::decode_datagram(bytes);
  } catch (const alivpc::error& e) {
    RC_ASSERT(e.kind() == error_kind::parse);
  }
}

RC_GTEST_PROP(NetlinkAttributes, CorruptedValidMessagesDecodeOrFailWithParseError,
              (std::size_t position, std::uint8_t value)) {
  auto bytes = route_message();
  bytes[position % bytes.size()] = value;
  try {
    nl::decode_datagram(bytes);
  } catch (const alivpc::error& e) {
    RC_ASSERT(e.kind() == error_kind::parse);
  }
}
