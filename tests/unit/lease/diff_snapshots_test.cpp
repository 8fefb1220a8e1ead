// detail::diff_snapshots, the resync diff of basic_lease_store (issue 11): a key deleted and
// re-created in the gap (another claim) is `removed` then `added`; a renewal of the same claim
// is nothing; a changed value of the same claim is `added`.
#include <alivpc/lease/detail/store_common.hpp>

#include <gtest/gtest.h>

using namespace alivpc;
using lease::lease_event_type;

namespace {

lease::lease claim(const char* subnet, const char* ip, std::int64_t created, std::int64_t rev) {
  lease::lease l;
  l.subnet = net::ipv4_cidr::parse(subnet);
  l.attrs.public_ip = net::ipv4_address::parse(ip);
  l.create_revision = created;
  l.revision = rev;
  return l;
}

}  // namespace

TEST(DiffSnapshots, ARecreatedKeyIsRemovedThenAdded) {
  auto old_claim = claim("10.24.5.0/24", "192.168.0.1", 10, 10);
  auto new_claim = claim("10.24.5.0/24", "192.168.0.2", 20, 20);
  auto events = lease::detail::diff_snapshots({{old_claim.subnet, old_claim}},
                                              {{old_claim.subnet, new_claim}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, lease_event_type::removed);
  EXPECT_EQ(events[0].value, old_claim);
  EXPECT_EQ(events[1].type, lease_event_type::added);
  EXPECT_EQ(events[1].value, new_claim);
  // Even with the same value (the same node re-claimed it): still another claim.
  auto again = claim("10.24.5.0/24", "192.168.0.1", 30, 30);
  events =
      lease::detail::diff_snapshots({{old_claim.subnet, old_claim}}, {{old_claim.subnet, again}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, lease_event_type::removed);
  EXPECT_EQ(events[1].type, lease_event_type::added);
}

TEST(DiffSnapshots, SameClaimIsNoEventUnlessItsValueChanged) {
  auto before = claim("10.24.5.0/24", "192.168.0.1", 10, 10);
  auto renewed = claim("10.24.5.0/24", "192.168.0.1", 10, 15);
  EXPECT_TRUE(
      lease::detail::diff_snapshots({{before.subnet, before}}, {{before.subnet, renewed}}).empty());
  auto changed = claim("10.24.5.0/24", "192.168.0.9", 10, 16);
  auto events =
      lease::detail::diff_snapshots({{before.subnet, before}}, {{before.subnet, changed}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, lease_event_type::added);
}

TEST(DiffSnapshots, GoneKeysAreRemovedAndNewKeysAdded) {
  auto a = claim("10.24.5.0/24", "192.168.0.1", 10, 10);
  auto b = claim("10.24.6.0/24", "192.168.0.2", 11, 11);
  auto events = lease::detail::diff_snapshots({{a.subnet, a}}, {{b.subnet, b}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, lease_event_type::removed);
  EXPECT_EQ(events[0].value.subnet, a.subnet);
  EXPECT_EQ(events[1].type, lease_event_type::added);
  EXPECT_EQ(events[1].value.subnet, b.subnet);
}
