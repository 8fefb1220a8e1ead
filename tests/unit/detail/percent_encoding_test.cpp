#include <alivpc/detail/percent_encoding.hpp>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>

namespace detail = alivpc::detail;
using params = std::map<std::string, std::string>;

TEST(PercentEncode, LeavesExactlyTheUnreservedSet) {
  EXPECT_EQ(detail::percent_encode(""), "");
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
  EXPECT_EQ(detail::percent_encode(unreserved), unreserved);
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    const bool kept = unreserved.find(one) != std::string::npos;
    EXPECT_EQ(detail::percent_encode(one).size(), kept ? 1u : 3u) << b;
    EXPECT_EQ(detail::is_unreserved(static_cast<unsigned char>(b)), kept) << b;
  }
}

// Alibaba Cloud's signers: space is %20 (not '+'), '*' is %2A, '~' stays, hex is upper-case.
TEST(PercentEncode, AsTheAlibabaSignerRequires) {
  EXPECT_EQ(detail::percent_encode("a b"), "a%20b");
  EXPECT_EQ(detail::percent_encode("*"), "%2A");
  EXPECT_EQ(detail::percent_encode("~"), "~");
  EXPECT_EQ(detail::percent_encode("+"), "%2B");
  EXPECT_EQ(detail::percent_encode("2026-01-01T00:00:00Z"), "2026-01-01T00%3A00%3A00Z");
  EXPECT_EQ(detail::percent_encode("\xe4\xb8\xad"), "%E4%B8%AD");
  EXPECT_EQ(detail::percent_encode(std::string(1, '\0')), "%00");
}

TEST(PercentEncode, EncodesEveryReservedCharacter) {
  // RFC 3986 section 2.2: gen-delims, then sub-delims.
  EXPECT_EQ(detail::percent_encode(":/?#[]@"), "%3A%2F%3F%23%5B%5D%40");
  EXPECT_EQ(detail::percent_encode("!$&'()*+,;="), "%21%24%26%27%28%29%2A%2B%2C%3B%3D");
  EXPECT_EQ(detail::percent_encode("%\"<>\\^`{|}"), "%25%22%3C%3E%5C%5E%60%7B%7C%7D");
}

TEST(PercentDecode, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(detail::percent_decode(""), "");
  EXPECT_EQ(detail::percent_decode("a%20b%2a%2A~"), "a b**~");
  EXPECT_EQ(detail::percent_decode("%E4%b8%aD"), "\xe4\xb8\xad");
  EXPECT_EQ(detail::percent_decode("%00"), std::string(1, '\0'));
}

TEST(PercentDecode, PlusIsASpaceOnlyInFormEncoding) {
  EXPECT_EQ(detail::percent_decode("a+b"), "a b");
  EXPECT_EQ(detail::percent_decode("a+b", false), "a+b");
  EXPECT_EQ(detail::percent_decode("a%2Bb"), "a+b");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  for (const char* bad : {"%", "%2", "a%", "%zz", "%2g", "%g2", "%%20", "ok%2"})
    EXPECT_FALSE(detail::percent_decode(bad).has_value()) << bad;
}

RC_GTEST_PROP(PercentEncoding, RoundTrips, (const std::string& s)) {
  RC_ASSERT(detail::percent_decode(detail::percent_encode(s)).value() == s);
  RC_ASSERT(detail::percent_decode(detail::percent_encode(s), false).value() == s);
}

TEST(DecodeParams, SplitsAndDecodesPairs) {
  EXPECT_EQ(detail::decode_params(""), params{});
  EXPECT_EQ(detail::decode_params("a=1&b=x+y%21"), (params{{"a", "1"}, {"b", "x y!"}}));
  EXPECT_EQ(detail::decode_params("a=1&a=2"), (params{{"a", "1"}}));  // the first one wins
  EXPECT_EQ(detail::decode_params("&&flag&=v&e="), (params{{"e", ""}, {"flag", ""}}));
  EXPECT_EQ(detail::decode_params("k=a=b"), (params{{"k", "a=b"}}));
  EXPECT_FALSE(detail::decode_params("a=1&b=%zz").has_value());
  EXPECT_FALSE(detail::decode_params("%=1").has_value());
}
