// Inputs found by fuzz/daemon_flags_fuzz.cpp (and by reading what it reached) that once crashed.
#include <flanneld_alivpc/daemon_flags.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using flanneld_alivpc::parse_flags;
using flanneld_alivpc::usage_error;

// libstdc++'s std::regex compiler recurses per group: 100000 nested groups overflowed the stack
// (from the command line or FLANNELD_IFACE_REGEX). Over-long patterns are a usage error now.
TEST(DaemonFlagsFuzzRegressions, DeeplyNestedIfaceRegexIsAUsageError) {
  const std::string deep = std::string(100'000, '(') + std::string(100'000, ')');
  EXPECT_THROW(parse_flags({"--iface-regex=" + deep}, {}), usage_error);
  EXPECT_THROW(parse_flags({}, {{"FLANNELD_IFACE_REGEX", deep}}), usage_error);
  auto f = parse_flags({"--iface-regex=^(eth|ens)[0-9]+$"}, {});
  ASSERT_EQ(f.iface_regex.size(), 1u);
  EXPECT_EQ(f.iface_regex[0], "^(eth|ens)[0-9]+$");
}

// A back reference or repeat count with 20 digits made libstdc++'s regex compiler overflow a
// long (UBSan: signed integer overflow in _Compiler::_M_cur_int_value). Refused up front.
TEST(DaemonFlagsFuzzRegressions, HugeNumbersInIfaceRegexAreAUsageError) {
  EXPECT_THROW(parse_flags({"--iface-regex=(a)\\44444444444444444444"}, {}), usage_error);
  EXPECT_THROW(parse_flags({"--iface-regex=a{99999999999999999999}"}, {}), usage_error);
  EXPECT_EQ(parse_flags({"--iface-regex=^10\\.24\\.[0-9]{1,3}\\."}, {}).iface_regex.size(), 1u);
}
