// The streaming reader of DescribeRouteEntryList against the DOM reading it replaced (json_view
// and parse_route_entry, which still read every other answer): on random answers, shaped like
// the service's with wrong types, missing fields, IPv6 entries, both wrapper shapes and
// unknown members mixed in, they take the same entries or both refuse the answer.
// rapidcheck prints "Using configuration: seed=N"; RC_PARAMS="seed=N" replays a run.
#include <alivpc/cloud/detail/route_entry_list_reader.hpp>
#include <alivpc/cloud/responses.hpp>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <optional>
#include <string>

using namespace alivpc;
using nlohmann::json;

namespace {

// The reading before the streaming reader, kept as the oracle.
cloud::describe_route_entry_list_answer read_with_dom(std::string_view body) {
  constexpr std::string_view what = "DescribeRouteEntryList";
  auto j = cloud::detail::parse_json(body, what);
  cloud::detail::json_view v(j, what);
  cloud::describe_route_entry_list_answer out;
  out.request_id = v.string_or("RequestId");
  out.next_token = v.string_or("NextToken");
  v.for_each_in("RouteEntrys", "RouteEntry", [&](const cloud::detail::json_view& e) {
    if (auto entry = cloud::detail::parse_route_entry(e, "", what))
      out.entries.push_back(std::move(*entry));
  });
  return out;
}

// Mostly the right type, sometimes another (or null); absent when nullopt.
rc::Gen<std::optional<json>> string_field(rc::Gen<std::string> good) {
  return rc::gen::weightedOneOf<std::optional<json>>(
      {{60, rc::gen::map(good, [](std::string s) { return std::optional<json>(s); })},
       {6, rc::gen::just(std::optional<json>())},
       {1, rc::gen::just(std::optional<json>(json(nullptr)))},
       {1, rc::gen::just(std::optional<json>(json(42)))},
       {1, rc::gen::just(std::optional<json>(json::object({{"x", 1}})))},
       {1, rc::gen::just(std::optional<json>(json::array({"a"})))}});
}

rc::Gen<std::string> destination() {
  return rc::gen::weightedOneOf<std::string>(
      {{30, rc::gen::map(rc::gen::inRange(0, 4096),
                         [](int i) {
                           return "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) +
                                  ".0/24";
                         })},
       {1, rc::gen::just(std::string("fd00::/64"))},
       {1, rc::gen::just(std::string("10.1.2.3/33"))},
       {1, rc::gen::just(std::string("not a cidr"))}});
}

rc::Gen<std::string> word(std::initializer_list<const char*> words) {
  std::vector<std::string> w(words.begin(), words.end());
  return rc::gen::elementOf(w);
}

void set(json& o, const char* name, const std::optional<json>& v) {
  if (v) o[name] = *v;
}

rc::Gen<json> hop() {
  return rc::gen::weightedOneOf<json>(
      {{30, rc::gen::exec([] {
          json h = json::object();
          set(h, "NextHopId", *string_field(word({"i-a", "i-b", ""})));
          set(h, "NextHopType", *string_field(word({"Instance", "HaVip"})));
          if (*rc::gen::inRange(0, 4) == 0) h["Enabled"] = 1;
          return h;
        })},
       {1, rc::gen::just(json(nullptr))},
       {1, rc::gen::just(json("i-x"))}});
}

rc::Gen<json> next_hops() {
  return rc::gen::exec([] {
    json hops = *rc::gen::container<std::vector<json>>(*rc::gen::inRange(0, 4), hop());
    switch (*rc::gen::inRange(0, 12)) {
      case 0:
        return hops;  // the array itself
      case 1:
        return json(nullptr);
      case 2:
        return json("x");
      case 3:
        return json{{"NextHop", json::object({{"NextHopId", "i-c"}})}};
      default:
        return json{{"NextHop", hops}};
    }
  });
}

rc::Gen<json> entry() {
  return rc::gen::weightedOneOf<json>(
      {{40, rc::gen::exec([] {
          json e = json::object();
          set(e, "DestinationCidrBlock",
              *rc::gen::weightedOneOf<std::optional<json>>(
                  {{40, rc::gen::map(destination(),
                                     [](std::string s) { return std::optional<json>(s); })},
                   {1, rc::gen::just(std::optional<json>())},
                   {1, rc::gen::just(std::optional<json>(json(7)))}}));
          set(e, "RouteTableId", *string_field(word({"vtb-1", "vtb-2"})));
          set(e, "RouteEntryId", *string_field(word({"rte-1", "rte-2"})));
          set(e, "Type", *string_field(word({"Custom", "System", "BGP", "Other"})));
          set(e, "Status", *string_field(word({"Available", "Pending", "Deleting", "Odd"})));
          set(e, "NextHopType", *string_field(word({"Instance", ""})));
          set(e, "InstanceId", *string_field(word({"i-1", ""})));
          if (*rc::gen::inRange(0, 3) != 0) e["NextHops"] = *next_hops();
          if (*rc::gen::inRange(0, 4) == 0)
            e["Description"] = json{{"nested", json::array({1, json{{"deep", nullptr}}})}};
          return e;
        })},
       {1, rc::gen::just(json(nullptr))},
       {1, rc::gen::just(json(3))}});
}

rc::Gen<json> answer() {
  return rc::gen::exec([] {
    json a = json::object();
    set(a, "RequestId", *string_field(word({"R-1", ""})));
    set(a, "NextToken", *string_field(word({"", "a0"})));
    json list = *rc::gen::container<std::vector<json>>(*rc::gen::inRange(0, 6), entry());
    switch (*rc::gen::inRange(0, 16)) {
      case 0:
        a["RouteEntrys"] = list;  // no wrapper object
        break;
      case 1:
        a["RouteEntrys"] = nullptr;
        break;
      case 2:
        a["RouteEntrys"] = json{{"RouteEntry", json::object()}};
        break;
      case 3:
        a["RouteEntrys"] = "none";
        break;
      case 4:
        break;  // absent
      default:
        a["RouteEntrys"] = json{{"RouteEntry", list}};
    }
    if (*rc::gen::inRange(0, 4) == 0) a["TotalCount"] = 5;
    return a;
  });
}

// Both refuse, or both read the same; what == nullopt when it succeeded.
std::optional<std::string> refusal(auto&& read, const std::string& body,
                                   cloud::describe_route_entry_list_answer& out) {
  try {
    out = read(body);
    return std::nullopt;
  } catch (const error& e) {
    RC_ASSERT(e.kind() == error_kind::parse);
    return std::string(e.what());
  }
}

}  // namespace

RC_GTEST_PROP(EntryListReader, AgreesWithTheDom, ()) {
  const auto doc = *answer();
  // Compact or indented: the reader must not care about layout.
  const std::string body = *rc::gen::arbitrary<bool>() ? doc.dump() : doc.dump(2);
  cloud::describe_route_entry_list_answer dom, streamed;
  auto dom_error = refusal(read_with_dom, body, dom);
  auto streamed_error = refusal(cloud::parse_describe_route_entry_list, body, streamed);
  RC_TAG(dom_error ? "refused" : "read");
  RC_CLASSIFY(!dom_error && !dom.entries.empty(), "entries read");
  RC_ASSERT(dom_error.has_value() == streamed_error.has_value());
  if (dom_error) {
    // The same message, but for two bad top-level fields: the DOM reads RequestId first, the
    // stream meets NextToken first (keys come sorted).
    if (dom_error->find("RequestId") == std::string::npos) RC_ASSERT(*dom_error == *streamed_error);
    return;
  }
  RC_ASSERT(dom.request_id == streamed.request_id);
  RC_ASSERT(dom.next_token == streamed.next_token);
  RC_ASSERT(dom.entries == streamed.entries);
}

// Text cut short, not JSON, or not an object is refused by both; when the whole answer was
// good, with the same message (nothing before the cut can be wrong).
RC_GTEST_PROP(EntryListReader, RefusesWhatTheDomRefuses, ()) {
  const auto whole = (*answer()).dump();
  cloud::describe_route_entry_list_answer dom, streamed;
  const bool whole_good = !refusal(read_with_dom, whole, dom).has_value();
  auto body = whole.substr(0, *rc::gen::inRange<std::size_t>(0, whole.size()));
  if (*rc::gen::inRange(0, 3) == 0)
    body = *rc::gen::elementOf(
        std::vector<std::string>{"[]", "\"x\"", "12", "null", "{} x", "{\"a\":}", ""});
  auto dom_error = refusal(read_with_dom, body, dom);
  auto streamed_error = refusal(cloud::parse_describe_route_entry_list, body, streamed);
  RC_ASSERT(dom_error.has_value());
  RC_ASSERT(streamed_error.has_value());
  if (whole_good) RC_ASSERT(*dom_error == *streamed_error);
}

// Byte-level damage to a good answer, from an alphabet of what a JSON scanner can get wrong:
// escapes and \u surrogates, UTF-8 (overlong, surrogate, past U+10FFFF, cut short), control
// characters, a BOM, number forms (leading zeros, exponents, overflow), literals, structure.
RC_GTEST_PROP(EntryListReader, DamagedTextIsReadAlikeOrRefusedAlike, ()) {
  static const std::vector<std::string> pieces = {"\\u00e9",
                                                  "\\ud83d\\ude00",
                                                  "\\ud83d",
                                                  "\\ude00",
                                                  "\\u12",
                                                  "\\x",
                                                  "\\/",
                                                  "\\\"",
                                                  "\xC3\xA9",
                                                  "\xC0\xAF",
                                                  "\xED\xA0\x80",
                                                  "\xF4\x90\x80\x80",
                                                  "\xF0\x9F\x98\x80",
                                                  "\xE2\x82",
                                                  "\x80",
                                                  "\x01",
                                                  "\x7F",
                                                  "\xEF\xBB\xBF",
                                                  " ",
                                                  "\t\r\n",
                                                  "0",
                                                  "-0",
                                                  "01",
                                                  "1.",
                                                  ".5",
                                                  "1e5",
                                                  "1E+2",
                                                  "2e-400",
                                                  "1e400",
                                                  "-",
                                                  "123456789012345678901234567890",
                                                  "true",
                                                  "nul",
                                                  "false",
                                                  "{",
                                                  "}",
                                                  "[",
                                                  "]",
                                                  ",",
                                                  ":",
                                                  "\"",
                                                  "null",
                                                  std::string(400, '7')};
  // Ten damaged copies a case: most damage makes text any scanner refuses.
  const auto whole = (*answer()).dump();
  for (int copy = 0; copy < 10; ++copy) {
    auto body = whole;
    const int edits = *rc::gen::inRange(1, 4);
    for (int i = 0; i < edits; ++i) {
      const auto at = *rc::gen::inRange<std::size_t>(0, body.size() + 1);
      const auto& piece = *rc::gen::elementOf(pieces);
      if (*rc::gen::arbitrary<bool>())
        body.insert(at, piece);
      else
        body.replace(at, std::min<std::size_t>(piece.size(), body.size() - at), piece);
    }
    if (*rc::gen::inRange(0, 8) == 0) body = "\xEF\xBB\xBF" + body;
    cloud::describe_route_entry_list_answer dom, streamed;
    auto dom_error = refusal(read_with_dom, body, dom);
    auto streamed_error = refusal(cloud::parse_describe_route_entry_list, body, streamed);
    RC_ASSERT(dom_error.has_value() == streamed_error.has_value());
    if (dom_error) continue;
    RC_ASSERT(dom.request_id == streamed.request_id);
    RC_ASSERT(dom.next_token == streamed.next_token);
    RC_ASSERT(dom.entries == streamed.entries);
  }
}

// Keys and values reach the reader as views of the body; one spelled with escapes is decoded
// into the scanner's buffer, which the next such string reuses. Such a key must still be the
// field it names, and still be named in a message about a value below it; such a value must
// still be itself when the entry is complete (ASan sees a dangling view).
TEST(EntryListReader, KeysSpelledWithEscapesAreReadAndNamed) {
  const std::string escaped =
      R"({"\u0052outeEntrys":{"RouteEntry":[{"DestinationCidrBlock":"10.0.1.0/24",)"
      R"("Route\u0045ntryId":"rte-\u0031","RouteTableId":"vtb-\u0033","Type":"Custom",)"
      R"("Status":"Available","NextHops":{"NextHop":[{"NextHop\u0049d":"i-\u0032",)"
      R"("NextHopType":"Instance"}]}}]}})";
  for (auto* read : {&read_with_dom, &cloud::parse_describe_route_entry_list}) {
    const auto got = read(escaped);
    ASSERT_EQ(got.entries.size(), 1u);
    EXPECT_EQ(got.entries[0].route_entry_id, "rte-1");  // the next escaped value reused the buffer
    EXPECT_EQ(got.entries[0].route_table_id, "vtb-3");
    EXPECT_EQ(got.entries[0].next_hop_id, "i-2");
  }
  const std::string wrong_type =
      R"({"\u0052outeEntrys":{"Route\u0045ntry":[{"DestinationCidrBlock":"10.0.1.0/24",)"
      R"("RouteTableId":"vtb-\u0031","Type":"Custom","Status":7}]}})";
  for (auto* read : {&read_with_dom, &cloud::parse_describe_route_entry_list}) {
    try {
      read(wrong_type);
      ADD_FAILURE() << "a number as Status was read";
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("RouteEntrys.RouteEntry[0].Status"), std::string::npos)
          << e.what();
    }
  }
}
