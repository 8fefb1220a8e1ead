// wrap_text, for any text and width: no line wider than the width, every line starts with its
// prefix, and the text's non-blank characters all come out, in order, and nothing else.
#include <alivpc/sim/text_report.hpp>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <sstream>
#include <string>

namespace {

std::string without_blanks(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') out += c;
  return out;
}

}  // namespace

RC_GTEST_PROP(TextWrap, FitsTheWidthAndKeepsEveryCharacter, ()) {
  const auto text =
      *rc::gen::container<std::string>(rc::gen::element('a', 'b', ' ', ' ', '\n', 'x', 'y'));
  const auto width = *rc::gen::inRange<std::size_t>(12, 100);
  const auto first_width = *rc::gen::inRange<std::size_t>(0, 11);
  const auto next_width = *rc::gen::inRange<std::size_t>(0, 11);
  const std::string first(first_width, '>'), next(next_width, '.');
  const auto out = alivpc::sim::wrap_text(text, first, next, width);
  RC_ASSERT(!out.empty() && out.back() == '\n');
  std::istringstream in(out);
  std::string line, body;
  bool is_first = true;
  while (std::getline(in, line)) {
    RC_ASSERT(line.size() <= width);
    const auto& prefix = is_first ? first : next;
    RC_ASSERT(line.compare(0, prefix.size(), prefix) == 0);
    body += line.substr(prefix.size()) + "\n";
    is_first = false;
  }
  RC_ASSERT(without_blanks(body) == without_blanks(text));
}
