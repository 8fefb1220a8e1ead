// Inputs found by fuzz/subnet_file_fuzz.cpp that once misbehaved.
#include <alivpc/error.hpp>
#include <alivpc/lease/subnet_file.hpp>

#include <gtest/gtest.h>

using namespace alivpc::lease;
using alivpc::net::ipv4_cidr;

// FLANNEL_SUBNET shows the lease's first address + 1; for a /32 that address is outside the
// lease, so a /32 file read back as a different lease (10.0.0.5/32 -> 10.0.0.6/32). Refused.
TEST(SubnetFileFuzzRegressions, Slash32SubnetIsRefused) {
  EXPECT_THROW(parse_subnet_file("FLANNEL_NETWORK=10.0.0.0/8\nFLANNEL_SUBNET=10.0.0.5/32\n"
                                 "FLANNEL_MTU=1\n"),
               alivpc::error);
  // /31 still round-trips: its second address is inside it.
  auto f =
      parse_subnet_file("FLANNEL_NETWORK=10.0.0.0/8\nFLANNEL_SUBNET=10.0.0.5/31\nFLANNEL_MTU=1\n");
  EXPECT_EQ(f.subnet, ipv4_cidr::parse("10.0.0.4/31"));
  EXPECT_EQ(parse_subnet_file(format_subnet_file(f)), f);
}
