#include <alivpc/lease/subnet_allocator.hpp>

#include <gtest/gtest.h>

using namespace alivpc::lease;
using alivpc::net::ipv4_cidr;

namespace {
auto cfg(const char* json) {
  return alivpc::config::parse_network_config(json);
}
}  // namespace

TEST(SubnetAllocator, PrefersThePreviousSubnetWhenFree) {
  auto c = cfg(R"({"Network":"10.24.0.0/16"})");
  alivpc::prng rng(1);
  std::vector<ipv4_cidr> taken{ipv4_cidr::parse("10.24.7.0/24")};
  EXPECT_EQ(allocate_subnet(c, taken, ipv4_cidr::parse("10.24.9.0/24"), rng).to_string(),
            "10.24.9.0/24");
  // Taken, outside the range, wrong length, or the reserved first subnet: not reused.
  for (const char* prev : {"10.24.7.0/24", "10.25.1.0/24", "10.24.9.0/25", "10.24.0.0/24"}) {
    auto got = allocate_subnet(c, taken, ipv4_cidr::parse(prev), rng);
    EXPECT_NE(got.to_string(), prev);
    EXPECT_FALSE(got.overlaps(taken[0]));
  }
}

TEST(SubnetAllocator, SkipsBlocksCoveredByLargerOrSmallerReservations) {
  auto c = cfg(R"({"Network":"10.24.0.0/22","SubnetLen":24})");
  // SubnetMin 10.24.1.0, SubnetMax 10.24.3.0: three candidates.
  std::vector<ipv4_cidr> taken{ipv4_cidr::parse("10.24.1.128/25"),
                               ipv4_cidr::parse("10.24.2.0/23")};
  alivpc::prng rng(3);
  EXPECT_FALSE(choose_subnet(c, taken, std::nullopt, rng).has_value());
  taken.pop_back();
  EXPECT_EQ(allocate_subnet(c, taken, std::nullopt, rng).to_string(), "10.24.2.0/24");
  taken.push_back(ipv4_cidr::parse("10.24.2.5/32"));
  EXPECT_EQ(allocate_subnet(c, taken, std::nullopt, rng).to_string(), "10.24.3.0/24");
}

TEST(SubnetAllocator, OutOfSubnetsSaysHowFull) {
  auto c = cfg(R"({"Network":"10.24.0.0/28"})");  // /30 subnets, min .4, max .12: three
  std::vector<ipv4_cidr> taken;
  taken.reserve(3);
  alivpc::prng rng(5);
  for (int i = 0; i < 3; ++i)
    taken.push_back(allocate_subnet(c, taken, std::nullopt, rng));
  try {
    allocate_subnet(c, taken, std::nullopt, rng);
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), alivpc::error_kind::exhausted);
    EXPECT_NE(std::string(e.what()).find("out of subnets"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("(3 leases)"), std::string::npos);
  }
}

TEST(SubnetAllocator, SameSeedSameChoice) {
  auto c = cfg(R"({"Network":"10.0.0.0/8"})");
  alivpc::prng a(42), b(42);
  EXPECT_EQ(allocate_subnet(c, {}, std::nullopt, a), allocate_subnet(c, {}, std::nullopt, b));
}
