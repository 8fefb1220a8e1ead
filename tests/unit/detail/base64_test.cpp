#include <alivpc/detail/base64.hpp>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace detail = alivpc::detail;

// RFC 4648 section 10.
TEST(Base64, TestVectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(detail::base64_encode(plain), encoded) << plain;
    EXPECT_EQ(detail::base64_decode(encoded).value(), plain) << encoded;
  }
}

TEST(Base64, UsesTheStandardAlphabetForAllBytes) {
  EXPECT_EQ(detail::base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(detail::base64_encode(std::string(3, '\0')), "AAAA");
  EXPECT_EQ(detail::base64_encode("/coreos.com/network/config"),
            "L2NvcmVvcy5jb20vbmV0d29yay9jb25maWc=");
  EXPECT_EQ(detail::base64_decode("+/+/").value(), "\xfb\xff\xbf");
}

TEST(Base64, RejectsWhatIsNotCanonicalBase64) {
  for (const char* bad : {"Zg",        // no padding
                          "Zg=",       // wrong length
                          "Z===",      // three pads
                          "====",      // nothing but padding
                          "Zm=v",      // padding inside the quantum
                          "Zg==Zg==",  // padding before the last quantum
                          "Zh==",      // non-zero trailing bits
                          "Zm9=",      // non-zero trailing bits
                          "Zm9v!A==",  // outside the alphabet
                          "-_-_",      // the URL-safe alphabet
                          "Zm9v\n",    // whitespace
                          "Zm 9v"})
    EXPECT_FALSE(detail::base64_decode(bad).has_value()) << bad;
}

RC_GTEST_PROP(Base64, RoundTrips, (const std::string& s)) {
  const auto encoded = detail::base64_encode(s);
  RC_ASSERT(encoded.size() == (s.size() + 2) / 3 * 4);
  RC_ASSERT(detail::base64_decode(encoded).value() == s);
}
