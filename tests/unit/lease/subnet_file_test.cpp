#include <alivpc/lease/subnet_file.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace alivpc::lease;
using alivpc::net::ipv4_cidr;

TEST(SubnetFile, FormatIsFlannels) {
  subnet_file f{ipv4_cidr::parse("10.24.0.0/16"), ipv4_cidr::parse("10.24.5.0/24"), 1500, false};
  EXPECT_EQ(format_subnet_file(f),
            "FLANNEL_NETWORK=10.24.0.0/16\nFLANNEL_SUBNET=10.24.5.1/24\nFLANNEL_MTU=1500\n"
            "FLANNEL_IPMASQ=false\n");
  EXPECT_EQ(parse_subnet_file(format_subnet_file(f)), f);
}

TEST(SubnetFile, WritesAtomicallyAndReadsBack) {
  auto dir =
      std::filesystem::temp_directory_path() / ("alivpc-subnet-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto path = dir / "run" / "subnet.env";
  EXPECT_FALSE(read_subnet_file(path).has_value());
  subnet_file f{ipv4_cidr::parse("10.24.0.0/16"), ipv4_cidr::parse("10.24.9.0/24"), 8950, true};
  write_subnet_file(path, f);
  EXPECT_EQ(*read_subnet_file(path), f);
  f.subnet = ipv4_cidr::parse("10.24.10.0/24");
  write_subnet_file(path, f);
  EXPECT_EQ(read_subnet_file(path)->subnet, f.subnet);
  // No temp file is left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(path.parent_path()))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

TEST(SubnetFile, BadLinesAreNamed) {
  try {
    parse_subnet_file(
        "FLANNEL_NETWORK=10.24.0.0/16\nFLANNEL_SUBNET=10.24.5.1/40\nFLANNEL_MTU=1500\n");
    FAIL();
  } catch (const alivpc::error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: FLANNEL_SUBNET"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_subnet_file("FLANNEL_NETWORK=10.24.0.0/16\nFLANNEL_SUBNET=10.24.5.1/24\n"),
               alivpc::error);
  EXPECT_THROW(parse_subnet_file("garbage\n"), alivpc::error);
  EXPECT_THROW(parse_subnet_file(
                   "FLANNEL_NETWORK=10.24.0.0/16\nFLANNEL_SUBNET=10.24.5.1/24\nFLANNEL_MTU=-1\n"),
               alivpc::error);
}
