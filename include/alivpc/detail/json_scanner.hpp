// A strict JSON scanner (RFC 8259) that hands each token to a handler as it goes, for the one
// answer that is read in bulk: DescribeRouteEntryList (cloud/detail/route_entry_list_reader.hpp).
// nlohmann's lexer, used for every other JSON, copies each byte into a token buffer and was most
// of that parse (about 12 ns a byte); this one copies nothing but a string that holds an escape
// (a key or string is handed over as a view of the text itself). It accepts exactly
// what nlohmann's parser accepts (the property test cloud.EntryListReader compares them): a
// leading UTF-8 BOM, well-formed UTF-8 only, \u escapes with paired surrogates, no control
// characters in strings, finite numbers, nothing after the value but whitespace.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace alivpc::detail {

// What json_scan calls; returning false from any of them stops the scan (json_scan: false).
// A string or key arrives decoded, as a view that lies inside the scanned text when the string
// holds no escape (it then lives as long as the text), and otherwise in the scanner's buffer
// (it then lives until the handler returns).
template <class H>
concept json_scan_handler = requires(H& h, std::string_view s, bool b) {
  { h.null() } -> std::same_as<bool>;
  { h.boolean(b) } -> std::same_as<bool>;
  { h.number(s) } -> std::same_as<bool>;  // validated, not converted
  { h.string(s) } -> std::same_as<bool>;
  { h.start_object() } -> std::same_as<bool>;
  { h.key(s) } -> std::same_as<bool>;
  { h.end_object() } -> std::same_as<bool>;
  { h.start_array() } -> std::same_as<bool>;
  { h.end_array() } -> std::same_as<bool>;
};

class json_scanner {
 public:
  explicit json_scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {
    if (end_ - p_ >= 3 && p_[0] == '\xEF' && p_[1] == '\xBB' && p_[2] == '\xBF') p_ += 3;
  }

  // True when the text is one valid JSON value and the handler took every token.
  template <json_scan_handler H>
  bool scan(H& h) {
    // Open containers: true for an object. Iterative, so depth never costs stack. Bytes, not
    // std::vector<bool>: its bit arithmetic on each token was a twentieth of reading a listing.
    std::vector<char> open;
    bool expect_value = true;
    for (;;) {
      skip_space();
      if (expect_value) {
        if (p_ == end_) return false;
        const char c = *p_;
        if (c == '{' || c == '[') {
          ++p_;
          const bool object = c == '{';
          if (!(object ? h.start_object() : h.start_array())) return false;
          skip_space();
          if (p_ != end_ && *p_ == (object ? '}' : ']')) {
            ++p_;
            if (!(object ? h.end_object() : h.end_array())) return false;
          } else {
            open.push_back(object ? 1 : 0);
            if (object && !member_key(h)) return false;
            continue;
          }
        } else if (!scalar(h)) {
          return false;
        }
      }
      // After a value: the container's next element, its end, or the end of the text.
      skip_space();
      if (open.empty()) return p_ == end_;
      if (p_ == end_) return false;
      const bool object = open.back() != 0;
      if (*p_ == ',') {
        ++p_;
        if (object && !member_key(h)) return false;
        expect_value = true;
        continue;
      }
      if (*p_ != (object ? '}' : ']')) return false;
      ++p_;
      open.pop_back();
      if (!(object ? h.end_object() : h.end_array())) return false;
      expect_value = false;
    }
  }

 private:
  void skip_space() {
    // Every byte above ' ' ends it at once: the common case, compact text, asks one question.
    if (p_ == end_ || static_cast<unsigned char>(*p_) > ' ') return;
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  // "name": (the value follows).
  template <class H>
  bool member_key(H& h) {
    skip_space();
    std::string_view name;
    if (p_ == end_ || *p_ != '"' || !string_body(name) || !h.key(name)) return false;
    skip_space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  template <class H>
  bool scalar(H& h) {
    const char c = *p_;
    std::string_view text;
    if (c == '"') return string_body(text) && h.string(text);
    if (c == 't') return literal("true") && h.boolean(true);
    if (c == 'f') return literal("false") && h.boolean(false);
    if (c == 'n') return literal("null") && h.null();
    const char* start = p_;
    return number() && h.number(std::string_view(start, static_cast<std::size_t>(p_ - start)));
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }
  bool digits() {
    if (p_ == end_ || !digit(*p_)) return false;
    while (p_ != end_ && digit(*p_))
      ++p_;
    return true;
  }
  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, finite (nlohmann refuses 1e999).
  bool number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    bool real = false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      real = true;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      real = true;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    // An integer too large for 64 bits is a double to nlohmann: finite up to about 300 digits.
    if (!real && p_ - start <= 20) return true;
    const std::string token(start, p_);
    return std::isfinite(std::strtod(token.c_str(), nullptr));
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool hex4(std::uint32_t& v) {
    if (end_ - p_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex(p_[i]);
      if (d < 0) return false;
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    p_ += 4;
    return true;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // One UTF-8 sequence of 2-4 bytes starting at p_ (RFC 3629: no overlongs, no surrogates,
  // nothing past U+10FFFF): past it when it is one.
  bool utf8_sequence() {
    const auto b0 = static_cast<unsigned char>(*p_);
    int more = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      more = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      more = 2;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      more = 3;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (end_ - p_ <= more) return false;
    for (int i = 1; i <= more; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return false;
    }
    p_ += more + 1;
    return true;
  }
  // Past the bytes a string holds as they are: not '"', '\\', a control character or non-ASCII.
  // Eight at a time (most of a listing is such text): in the word that holds the first byte
  // that ends the run, that byte is the lowest one flagged (a flag's borrow only ever raises a
  // false one above a true one), so it is found without a loop over the bytes.
  void skip_plain() {
    constexpr std::uint64_t ones = 0x0101010101010101, high = 0x8080808080808080;
    // Whether some byte of w is below n (n <= 0x80), and so zero after w ^ (ones * c) for c.
    const auto any_below = [](std::uint64_t w, std::uint64_t n) {
      return (w - ones * n) & ~w & high;
    };
#if defined(__SSE2__)
    // Sixteen at a time where SSE2 is (every x86-64): '"', '\\', and, by one signed compare,
    // control characters and non-ASCII bytes (negative as signed bytes) together.
    while (end_ - p_ >= 16) {
      const auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      const auto ends = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                     _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
      if (const auto mask = static_cast<unsigned>(_mm_movemask_epi8(ends))) {
        p_ += std::countr_zero(mask);
        return;
      }
      p_ += 16;
    }
#endif
    while (end_ - p_ >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p_, sizeof w);
      if constexpr (std::endian::native == std::endian::big) w = byteswap(w);
      const auto ends = (w & high) | any_below(w, 0x20) | any_below(w ^ (ones * '"'), 1) |
                        any_below(w ^ (ones * '\\'), 1);
      if (ends) {
        p_ += std::countr_zero(ends) / 8;
        return;
      }
      p_ += 8;
    }
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++p_;
    }
  }
  static std::uint64_t byteswap(std::uint64_t w) {
    std::uint64_t out = 0;
    for (int i = 0; i < 8; ++i, w >>= 8)
      out = (out << 8) | (w & 0xFF);
    return out;
  }
  // From the opening quote at p_ to past the closing one; out views the decoded contents: the
  // text itself, or buffer_ once an escape was met (a listing holds none). A string of plain
  // bytes (every one of a listing's) ends here; the rest is decode_string's, kept out of line so
  // that this stays small where it is inlined (saving the registers the decoding needs was
  // a third of a plain string's cost).
  bool string_body(std::string_view& out) {
    const char* const start = ++p_;
    skip_plain();
    if (p_ != end_ && *p_ == '"') {
      out = std::string_view(start, static_cast<std::size_t>(p_ - start));
      ++p_;
      return true;
    }
    return decode_string(start, out);
  }
  // The rest of a string from p_, where skip_plain stopped: an escape, a non-ASCII or control
  // byte, or the end of the text.
  [[gnu::noinline]] bool decode_string(const char* start, std::string_view& out) {
    bool decoding = false;  // buffer_ holds the contents so far
    for (;;) {
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = decoding ? std::string_view(buffer_)
                       : std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const char* sequence = p_;
        if (!utf8_sequence()) return false;
        if (decoding) buffer_.append(sequence, static_cast<std::size_t>(p_ - sequence));
      } else if (!escape(start, decoding)) {
        return false;
      }
      const char* run = p_;
      skip_plain();
      if (decoding) buffer_.append(run, static_cast<std::size_t>(p_ - run));
    }
  }
  // The escape at p_ (a backslash), decoded onto buffer_, which from now on holds the string.
  bool escape(const char* start, bool& decoding) {
    if (!decoding) {
      buffer_.assign(start, static_cast<std::size_t>(p_ - start));
      decoding = true;
    }
    if (++p_ == end_) return false;
    const char e = *p_++;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        buffer_ += e;
        return true;
      case 'b':
        buffer_ += '\b';
        return true;
      case 'f':
        buffer_ += '\f';
        return true;
      case 'n':
        buffer_ += '\n';
        return true;
      case 'r':
        buffer_ += '\r';
        return true;
      case 't':
        buffer_ += '\t';
        return true;
      case 'u': {
        std::uint32_t cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate alone
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t low = 0;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
          p_ += 2;
          if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(buffer_, cp);
        return true;
      }
      default:
        return false;
    }
  }

  const char* p_;
  const char* end_;
  std::string buffer_;  // a string with escapes, decoded
};

template <json_scan_handler H>
bool json_scan(std::string_view text, H& h) {
  return json_scanner(text).scan(h);
}

}  // namespace alivpc::detail
