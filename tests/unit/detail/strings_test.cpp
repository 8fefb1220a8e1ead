#include <alivpc/detail/strings.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace detail = alivpc::detail;
using views = std::vector<std::string_view>;
using strings = std::vector<std::string>;

TEST(Lower, TouchesOnlyAsciiCapitals) {
  EXPECT_EQ(detail::lower(""), "");
  EXPECT_EQ(detail::lower("X-Acs-Date"), "x-acs-date");
  EXPECT_EQ(detail::lower("already lower 09-_@[`{"), "already lower 09-_@[`{");
  EXPECT_EQ(detail::lower("\xC3\x84Z"), "\xC3\x84z");  // UTF-8 bytes stay as they are
}

TEST(Trim, RemovesBlanksAtBothEndsOnly) {
  EXPECT_EQ(detail::trim(""), "");
  EXPECT_EQ(detail::trim(" \t \t"), "");
  EXPECT_EQ(detail::trim("\t a b \t"), "a b");
  EXPECT_EQ(detail::trim("ab"), "ab");
  // Header blanks by default: a CR or LF is not a blank there.
  EXPECT_EQ(detail::trim(" a\r\n"), "a\r\n");
  EXPECT_EQ(detail::trim(" a\r\n", " \t\r\n"), "a");
  EXPECT_EQ(detail::trim("--a--", "-"), "a");
}

TEST(Split, KeepsInnerEmptyPiecesButNoTrailingOne) {
  EXPECT_EQ(detail::split("", ','), views{});
  EXPECT_EQ(detail::split("a", ','), views{"a"});
  EXPECT_EQ(detail::split("a,", ','), views{"a"});
  EXPECT_EQ(detail::split(",a", ','), (views{"", "a"}));
  EXPECT_EQ(detail::split("a,,b,", ','), (views{"a", "", "b"}));
  EXPECT_EQ(detail::split(",", ','), views{""});
  EXPECT_EQ(detail::split("a=1&b=2", '&'), (views{"a=1", "b=2"}));
  EXPECT_EQ(detail::split("a b", ','), views{"a b"});
}

TEST(SplitList, TrimsAndDropsEmptyItems) {
  EXPECT_EQ(detail::split_list(""), strings{});
  EXPECT_EQ(detail::split_list(" , ,"), strings{});
  EXPECT_EQ(detail::split_list(" a, b,,\tc "), (strings{"a", "b", "c"}));
  EXPECT_EQ(detail::split_list("x;y", ';'), (strings{"x", "y"}));
  EXPECT_EQ(detail::split_list("x;y"), strings{"x;y"});
}

TEST(Hex, ValueOfEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    int want = -1;
    if (c >= '0' && c <= '9') want = b - '0';
    if (c >= 'a' && c <= 'f') want = b - 'a' + 10;
    if (c >= 'A' && c <= 'F') want = b - 'A' + 10;
    EXPECT_EQ(detail::hex_value(c), want) << b;
  }
}

TEST(Hex, EncodesLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(detail::to_hex(""), "");
  EXPECT_EQ(detail::to_hex(std::string_view("\x00\x0f\xf0\xff", 4)), "000ff0ff");
  EXPECT_EQ(detail::to_hex("AZ"), "415a");
}

TEST(Is, MatchesTheLiteralByLengthAndEveryByte) {
  EXPECT_TRUE(detail::is("NextHopId", "NextHopId"));
  EXPECT_TRUE(detail::is("", ""));
  EXPECT_TRUE(detail::is(std::string_view(), ""));
  EXPECT_FALSE(detail::is("NextHopIds", "NextHopId"));  // longer
  EXPECT_FALSE(detail::is("NextHopI", "NextHopId"));    // a prefix
  EXPECT_FALSE(detail::is("NextHopIx", "NextHopId"));   // the last byte differs
  EXPECT_FALSE(detail::is("xextHopId", "NextHopId"));   // the first byte differs
  EXPECT_FALSE(detail::is(std::string_view("Type\0", 5), "Type"));
}

TEST(WholeNumber, AllOfTheTextOrNothing) {
  EXPECT_EQ(detail::whole_number<std::uint64_t>("12"), 12u);
  EXPECT_EQ(detail::whole_number<int>("-3"), -3);
  EXPECT_EQ(detail::whole_number<unsigned>("4294967295"), 4294967295u);
  for (const char* bad : {"", " 1", "1 ", "+1", "1x", "0x10", "-1", "4294967296"})
    EXPECT_FALSE(detail::whole_number<unsigned>(bad)) << '"' << bad << '"';
}
