// json_scan accepts exactly what nlohmann's parser accepts, on the texts where scanners differ.
#include <alivpc/detail/json_scanner.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

// Takes every token; counts them.
struct counter {
  int tokens = 0;
  std::vector<std::string> strings;
  bool null() { return ++tokens > 0; }
  bool boolean(bool) { return ++tokens > 0; }
  bool number(std::string_view) { return ++tokens > 0; }
  bool string(std::string_view s) {
    strings.emplace_back(s);
    return ++tokens > 0;
  }
  bool key(std::string_view s) {
    strings.emplace_back(s);
    return ++tokens > 0;
  }
  bool start_object() { return ++tokens > 0; }
  bool end_object() { return ++tokens > 0; }
  bool start_array() { return ++tokens > 0; }
  bool end_array() { return ++tokens > 0; }
};

}  // namespace

TEST(JsonScanner, AcceptsWhatNlohmannAccepts) {
  const std::vector<std::string> texts = {"{}",
                                          " [ ] ",
                                          "[true,false,null]",
                                          "{\"a\":{\"b\":[1,-0,2.5e-3,1E+2]}}",
                                          "[1e400]",
                                          "[-1e400]",
                                          "[2e-400]",
                                          "[" + std::string(400, '7') + "]",
                                          "[123456789012345678901234567890]",
                                          "[01]",
                                          "[-]",
                                          "[1.]",
                                          "[.5]",
                                          "[1e]",
                                          "[+1]",
                                          "[\"\\udc00\"]",
                                          "[\"\\ud800\"]",
                                          "[\"\\ud83d\\ude00\"]",
                                          "[\"\\ud83d\\u0041\"]",
                                          "[\"\\u12\"]",
                                          "[\"\\x\"]",
                                          "[\"\\u0000\"]",
                                          "[\"\xC3\xA9\"]",
                                          "[\"\xC0\xAF\"]",
                                          "[\"\xED\xA0\x80\"]",
                                          "[\"\xF4\x90\x80\x80\"]",
                                          "[\"\xF0\x9F\x98\x80\"]",
                                          "[\"\xE2\x82\"]",
                                          "[\"\x80\"]",
                                          "[\"\x7F\"]",
                                          "[\"\x01\"]",
                                          "[\"a\nb\"]",
                                          "\xEF\xBB\xBF{}",
                                          "\xEF\xBB{}",
                                          "{}\xEF\xBB\xBF",
                                          "[1,]",
                                          "{\"a\":1,}",
                                          "{,}",
                                          "[tru]",
                                          "[nulll]",
                                          "{\"a\" 1}",
                                          "{\"a\":}",
                                          "{1:2}",
                                          "\"x\"",
                                          "12",
                                          "",
                                          " ",
                                          "[] []",
                                          "[]x",
                                          "[\"unterminated]",
                                          "[[[[]]]]",
                                          "{\"a\":[}",
                                          "\t\r\n{}\n"};
  for (const auto& t : texts) {
    counter c;
    EXPECT_EQ(alivpc::detail::json_scan(t, c), nlohmann::json::accept(t)) << "text: " << t;
  }
}

TEST(JsonScanner, DecodesEscapesToUtf8) {
  counter c;
  ASSERT_TRUE(alivpc::detail::json_scan(R"({"k\"ey":"a\\b\/c\n\u00e9\ud83d\ude00"})", c));
  ASSERT_EQ(c.strings.size(), 2u);
  EXPECT_EQ(c.strings[0], "k\"ey");
  EXPECT_EQ(c.strings[1], "a\\b/c\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(c.tokens, 4);
}

// Plain text is skipped sixteen (SSE2) or eight bytes at a time: a byte that ends the run (quote,
// backslash, control character, non-ASCII) must be seen at every offset within and across them.
TEST(JsonScanner, SeesEveryByteThatEndsAPlainRunAtEveryOffset) {
  const std::vector<std::string> specials = {"\"",   "\\n",      "\x01", "\x1F", "\n",
                                             "\x7F", "\xC3\xA9", "\x80", "\xFF", " "};
  for (std::size_t at = 0; at < 20; ++at)
    for (const auto& special : specials)
      for (std::size_t after : {0, 1, 7, 8, 9, 16}) {
        const std::string body = std::string(at, 'a') + special + std::string(after, 'b');
        // Padded after the string too, so that 16 bytes always remain (the SSE2 path).
        for (const std::string& text :
             {"[\"" + body + "\"]", "[\"" + body + "\"" + std::string(32, ' ') + "]"}) {
          counter c;
          const bool ok = alivpc::detail::json_scan(text, c);
          ASSERT_EQ(ok, nlohmann::json::accept(text)) << "text: " << text;
          if (ok) {
            EXPECT_EQ(c.strings.at(0), nlohmann::json::parse(text).at(0)) << "text: " << text;
          }
        }
      }
}

// Once a string has an escape it is decoded into a buffer: every piece after that (plain text,
// raw UTF-8, more escapes) must reach the buffer too, in every order.
TEST(JsonScanner, DecodesEveryMixOfEscapesRawUtf8AndPlainText) {
  const std::vector<std::string> pieces = {"ab",
                                           "\\n",
                                           "\\u00e9",
                                           "\xC3\xA9",
                                           "\xE2\x82\xAC",
                                           "\xF0\x9F\x98\x80",
                                           "\\\"",
                                           "\\ud83d\\ude00",
                                           std::string(17, 'x')};
  for (const auto& a : pieces)
    for (const auto& b : pieces)
      for (const auto& c : pieces) {
        const std::string text = "[\"" + a + b + c + "\"]";
        counter got;
        ASSERT_TRUE(alivpc::detail::json_scan(text, got)) << "text: " << text;
        EXPECT_EQ(got.strings.at(0), nlohmann::json::parse(text).at(0)) << "text: " << text;
      }
}
