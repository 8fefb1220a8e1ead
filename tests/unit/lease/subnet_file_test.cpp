#include <alivpc/lease/subnet_file.hpp>

#include <alivpc_test/temp_dir.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <functional>
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

namespace {
const subnet_file sample{ipv4_cidr::parse("10.24.0.0/16"), ipv4_cidr::parse("10.24.9.0/24"), 1450,
                         false};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string io_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const alivpc::error& e) {
    EXPECT_EQ(e.kind(), alivpc::error_kind::io);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an alivpc::error: " << e.what();
  }
  return "";
}
}  // namespace

// Issue 11: the old temp name (".subnet.env.tmp.<pid>") was predictable and opened without
// O_EXCL/O_NOFOLLOW: a symlink planted there redirected the write into any file.
TEST(SubnetFile, NeverWritesThroughASymlinkAtTheTempOrFinalName) {
  alivpc_test::temp_dir dir("alivpc-subnet");
  auto path = dir.path() / "subnet.env";
  auto victim = dir.path() / "victim";
  std::ofstream(victim) << "precious\n";
  std::filesystem::create_symlink(victim,
                                  dir.path() / (".subnet.env.tmp." + std::to_string(::getpid())));
  write_subnet_file(path, sample);
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_EQ(parse_subnet_file(slurp(path)), sample);
  // A symlink at the final name is replaced, not followed.
  std::filesystem::remove(path);
  std::filesystem::create_symlink(victim, path);
  write_subnet_file(path, sample);
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_FALSE(std::filesystem::is_symlink(path));
  // The temp names differ between writes (not derived from the pid).
  EXPECT_NE(alivpc::lease::detail::random_suffix(), alivpc::lease::detail::random_suffix());
}

TEST(SubnetFile, ModeIs0644WhateverTheUmask) {
  alivpc_test::temp_dir dir("alivpc-subnet");
  auto path = dir.path() / "subnet.env";
  auto old = ::umask(077);
  write_subnet_file(path, sample);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(slurp(path), format_subnet_file(sample));
}

TEST(SubnetFile, EveryFailureIsAnAlivpcErrorNamingThePathAndTheReason) {
  alivpc_test::temp_dir dir("alivpc-subnet");
  auto file = dir.path() / "plain-file";
  std::ofstream(file) << "x";
  // The parent is a file: std::filesystem would throw filesystem_error.
  auto under_file = file / "run" / "subnet.env";
  auto e = io_error_of([&] { write_subnet_file(under_file, sample); });
  EXPECT_NE(e.find(under_file.string()), std::string::npos) << e;
  EXPECT_NE(e.find("Not a directory"), std::string::npos) << e;
  e = io_error_of([&] { check_subnet_file_writable(under_file); });
  EXPECT_NE(e.find(under_file.string()), std::string::npos) << e;
  EXPECT_FALSE(read_subnet_file(file / "subnet.env").has_value());  // no such file: none yet
  EXPECT_THROW((void)read_subnet_file(dir.path()), alivpc::error);
  // A directory where the file should be.
  e = io_error_of([&] { check_subnet_file_writable(dir.path()); });
  EXPECT_NE(e.find("is a directory"), std::string::npos) << e;
  e = io_error_of([&] { write_subnet_file(dir.path(), sample); });
  EXPECT_NE(e.find(dir.path().string()), std::string::npos) << e;
  // A directory nobody (not even root) can create files in.
  e = io_error_of([] { check_subnet_file_writable("/proc/self/subnet.env"); });
  EXPECT_NE(e.find("/proc/self/subnet.env"), std::string::npos) << e;
  if (::geteuid() != 0) {
    auto ro = dir.path() / "ro";
    std::filesystem::create_directory(ro);
    std::filesystem::permissions(
        ro, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    e = io_error_of([&] { check_subnet_file_writable(ro / "subnet.env"); });
    EXPECT_NE(e.find("Permission denied"), std::string::npos) << e;
  }
}

TEST(SubnetFile, WritableCheckLeavesNothingBehind) {
  alivpc_test::temp_dir dir("alivpc-subnet");
  auto path = dir.path() / "new" / "subnet.env";
  check_subnet_file_writable(path);
  EXPECT_TRUE(std::filesystem::is_directory(path.parent_path()));
  EXPECT_TRUE(std::filesystem::is_empty(path.parent_path()));
}
