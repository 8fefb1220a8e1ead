// Reading etcd's answers: the v3 JSON gateway (int64 as strings, default-valued fields omitted,
// base64 keys and values, newline-delimited watch stream) and the v2 keys API. Pure functions on
// text, so they are unit-tested and fuzzed on their own. Anything unexpected is an
// alivpc::error(parse) whose message starts with `ctx` (the endpoint and operation).
#pragma once

#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/error.hpp>
#include <alivpc/detail/base64.hpp>
#include <alivpc/lease/lease.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::lease::detail {

using json = nlohmann::json;

[[noreturn]] inline void bad_answer(const std::string& ctx, const std::string& why,
                                    std::string_view body = {}) {
  std::string msg = ctx + ": unexpected answer from etcd: " + why;
  if (!body.empty()) msg += ": " + std::string(body.substr(0, 200));
  fail(error_kind::parse, msg);
}

inline json parse_json(std::string_view body, const std::string& ctx) {
  auto j = alivpc::detail::parse_json_bounded(body, error_kind::parse,
                                              ctx + ": unexpected answer from etcd");
  if (j.is_discarded()) bad_answer(ctx, "not valid JSON", body);
  if (!j.is_object()) bad_answer(ctx, "expected a JSON object", body);
  return j;
}

// An int64 field: a JSON string of digits (v3 gateway) or a JSON integer (v2); absent means 0.
inline std::int64_t get_i64(const json& obj, const char* field, const std::string& ctx) {
  if (!obj.is_object())
    bad_answer(ctx, std::string("expected an object holding \"") + field + "\"");
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_unsigned()) {
    auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX))
      bad_answer(ctx, std::string(field) + " out of range");
    return static_cast<std::int64_t>(u);
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty())
      bad_answer(ctx, std::string(field) + " is not an int64: \"" + s.substr(0, 40) + "\"");
    return v;
  }
  bad_answer(ctx, std::string(field) + " is not an int64 (" + it->type_name() + ")");
}

inline bool get_bool(const json& obj, const char* field, const std::string& ctx) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) bad_answer(ctx, std::string(field) + " is not a boolean");
  return it->get<bool>();
}

inline std::string get_b64(const json& obj, const char* field, const std::string& ctx) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) bad_answer(ctx, std::string(field) + " is not a base64 string");
  auto decoded = alivpc::detail::base64_decode(it->get_ref<const std::string&>());
  if (!decoded)
    bad_answer(ctx, std::string(field) + " is not valid base64: \"" +
                        it->get_ref<const std::string&>().substr(0, 60) + "\"");
  return *decoded;
}

// ---------------------------------------------------------------------------------------------
// v3 gateway

struct v3_kv {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

inline v3_kv parse_v3_kv(const json& j, const std::string& ctx) {
  if (!j.is_object()) bad_answer(ctx, "kv is not an object");
  v3_kv kv;
  kv.key = get_b64(j, "key", ctx);
  kv.value = get_b64(j, "value", ctx);
  kv.create_revision = get_i64(j, "create_revision", ctx);
  kv.mod_revision = get_i64(j, "mod_revision", ctx);
  kv.version = get_i64(j, "version", ctx);
  kv.lease = get_i64(j, "lease", ctx);
  return kv;
}

inline std::int64_t header_revision(const json& j, const std::string& ctx) {
  auto h = j.find("header");
  if (h == j.end()) return 0;
  return get_i64(*h, "revision", ctx);
}

// header.cluster_id as text (a uint64 in a JSON string; "" when absent). A different id is a
// different (e.g. rebuilt) etcd cluster.
inline std::string header_cluster_id(const json& j, const std::string& ctx) {
  auto h = j.find("header");
  if (h == j.end() || !h->is_object()) return {};
  auto c = h->find("cluster_id");
  if (c == h->end() || c->is_null()) return {};
  if (c->is_string()) return c->get<std::string>().substr(0, 40);
  if (c->is_number_unsigned()) return std::to_string(c->get<std::uint64_t>());
  if (c->is_number_integer()) return std::to_string(c->get<std::int64_t>());
  bad_answer(ctx, "header.cluster_id is not a number");
}

// A gateway error body: {"error":"...","message":"...","code":5}; also inside a stream "result".
// gRPC codes: 5 NotFound, 7 PermissionDenied, 16 Unauthenticated, 14 Unavailable, 4 Deadline.
[[noreturn]] inline void throw_v3_error(unsigned status, std::string_view body,
                                        const std::string& ctx) {
  json j;  // a body nested too deep is treated like one that is not JSON: the status decides
  try {
    j = alivpc::detail::parse_json_bounded(body, error_kind::parse, ctx);
  } catch (const error&) {
  }
  std::string message;
  std::int64_t code = -1;
  if (j.is_object()) {
    if (auto m = j.find("message"); m != j.end() && m->is_string())
      message = m->get<std::string>();
    else if (auto e = j.find("error"); e != j.end() && e->is_string())
      message = e->get<std::string>();
    if (auto c = j.find("code"); c != j.end() && c->is_number_integer())
      code = c->get<std::int64_t>();
  }
  if (message.empty()) message = std::string(body.substr(0, 200));
  std::string msg = ctx + ": etcd answered HTTP " + std::to_string(status) + ": " + message;
  if (code == 5) fail(error_kind::not_found, msg);
  if (code == 7 || code == 16 || status == 401 || status == 403) fail(error_kind::permanent, msg);
  if (code == 14 || code == 4 || code == 8 || status >= 500) fail(error_kind::transient, msg);
  fail(error_kind::permanent, msg);
}

struct v3_range_result {
  std::vector<v3_kv> kvs;
  std::int64_t revision = 0;
  std::string cluster_id;
  std::int64_t count = 0;
  bool more = false;
};

inline v3_range_result parse_v3_range(std::string_view body, const std::string& ctx) {
  auto j = parse_json(body, ctx);
  v3_range_result r;
  r.revision = header_revision(j, ctx);
  r.cluster_id = header_cluster_id(j, ctx);
  r.count = get_i64(j, "count", ctx);
  r.more = get_bool(j, "more", ctx);
  if (auto kvs = j.find("kvs"); kvs != j.end() && !kvs->is_null()) {
    if (!kvs->is_array()) bad_answer(ctx, "kvs is not an array");
    for (const auto& kv : *kvs)
      r.kvs.push_back(parse_v3_kv(kv, ctx));
  }
  return r;
}

struct v3_grant_result {
  std::int64_t id = 0;
  std::int64_t ttl = 0;
};

inline v3_grant_result parse_v3_grant(std::string_view body, const std::string& ctx) {
  auto j = parse_json(body, ctx);
  if (auto e = j.find("error"); e != j.end() && e->is_string() && !e->get<std::string>().empty())
    fail(error_kind::transient, ctx + ": etcd refused the lease grant: " + e->get<std::string>());
  v3_grant_result g{get_i64(j, "ID", ctx), get_i64(j, "TTL", ctx)};
  if (g.id == 0 || g.ttl <= 0) bad_answer(ctx, "lease grant without ID or TTL", body);
  return g;
}

// The keepalive answer ({"result":{...,"ID":"..","TTL":".."}}); nullopt when the lease is gone
// (etcd answers 200 without a TTL, or a TTL <= 0).
inline std::optional<std::int64_t> parse_v3_keepalive(std::string_view body,
                                                      const std::string& ctx) {
  // The gateway streams: take the first line.
  auto nl = body.find('\n');
  auto first = body.substr(0, nl);
  auto j = parse_json(first, ctx);
  auto res = j.find("result");
  if (res == j.end()) {
    if (j.contains("error")) throw_v3_error(200, first, ctx);
    bad_answer(ctx, "keepalive answer without \"result\"", first);
  }
  if (!res->is_object()) bad_answer(ctx, "keepalive result is not an object", first);
  auto ttl = get_i64(*res, "TTL", ctx);
  if (ttl <= 0) return std::nullopt;
  return ttl;
}

// timetolive: TTL -1 when the lease does not exist.
inline std::int64_t parse_v3_timetolive(std::string_view body, const std::string& ctx) {
  auto j = parse_json(body, ctx);
  if (!j.contains("TTL")) return 0;
  return get_i64(j, "TTL", ctx);
}

struct v3_txn_result {
  bool succeeded = false;
  std::int64_t revision = 0;
};

inline v3_txn_result parse_v3_txn(std::string_view body, const std::string& ctx) {
  auto j = parse_json(body, ctx);
  return {get_bool(j, "succeeded", ctx), header_revision(j, ctx)};
}

struct v3_watch_event {
  bool is_delete = false;  // type DELETE; PUT (the default) is omitted by the gateway
  v3_kv kv;
  std::optional<v3_kv> prev_kv;
};

struct v3_watch_message {
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;
  std::int64_t revision = 0;  // header revision
  std::string cluster_id;     // header cluster_id
  std::string cancel_reason;
  std::vector<v3_watch_event> events;
};

inline v3_watch_message parse_v3_watch_message(std::string_view line, const std::string& ctx) {
  auto j = parse_json(line, ctx);
  auto res = j.find("result");
  if (res == j.end()) {
    if (j.contains("error")) throw_v3_error(200, line, ctx);
    bad_answer(ctx, "watch message without \"result\"", line);
  }
  if (!res->is_object()) bad_answer(ctx, "watch result is not an object", line);
  v3_watch_message m;
  m.created = get_bool(*res, "created", ctx);
  m.canceled = get_bool(*res, "canceled", ctx);
  m.compact_revision = get_i64(*res, "compact_revision", ctx);
  m.revision = header_revision(*res, ctx);
  m.cluster_id = header_cluster_id(*res, ctx);
  if (auto r = res->find("cancel_reason"); r != res->end() && r->is_string())
    m.cancel_reason = r->get<std::string>();
  if (auto evs = res->find("events"); evs != res->end() && !evs->is_null()) {
    if (!evs->is_array()) bad_answer(ctx, "watch events is not an array", line);
    for (const auto& e : *evs) {
      if (!e.is_object()) bad_answer(ctx, "watch event is not an object", line);
      v3_watch_event ev;
      if (auto t = e.find("type"); t != e.end() && !t->is_null()) {
        if (!t->is_string()) bad_answer(ctx, "watch event type is not a string", line);
        const auto& ts = t->get_ref<const std::string&>();
        if (ts == "DELETE")
          ev.is_delete = true;
        else if (ts != "PUT")
          bad_answer(ctx, "unknown watch event type " + ts.substr(0, 20), line);
      }
      if (auto kv = e.find("kv"); kv != e.end())
        ev.kv = parse_v3_kv(*kv, ctx);
      else
        bad_answer(ctx, "watch event without kv", line);
      if (auto pkv = e.find("prev_kv"); pkv != e.end() && !pkv->is_null())
        ev.prev_kv = parse_v3_kv(*pkv, ctx);
      m.events.push_back(std::move(ev));
    }
  }
  return m;
}

// Splits the watch stream into messages: pieces arrive with arbitrary boundaries.
class v3_watch_decoder {
 public:
  explicit v3_watch_decoder(std::string ctx, std::size_t max_line = std::size_t{16} * 1024 * 1024)
      : ctx_(std::move(ctx)), max_line_(max_line) {}

  // Appends a piece and returns every message it completed.
  std::vector<v3_watch_message> feed(std::string_view piece) {
    pending_.append(piece);
    std::vector<v3_watch_message> out;
    std::size_t start = 0;
    for (;;) {
      auto nl = pending_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(pending_.data() + start, nl - start);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.remove_suffix(1);
      if (!line.empty()) out.push_back(parse_v3_watch_message(line, ctx_));
      start = nl + 1;
    }
    pending_.erase(0, start);
    if (pending_.size() > max_line_) bad_answer(ctx_, "watch message longer than the limit");
    return out;
  }
  // What is left at the end of the stream (a last line without newline).
  std::vector<v3_watch_message> finish() {
    return pending_.empty() ? std::vector<v3_watch_message>{} : feed("\n");
  }

 private:
  std::string ctx_;
  std::size_t max_line_;
  std::string pending_;
};

// ---------------------------------------------------------------------------------------------
// v2 keys API

struct v2_node {
  std::string key;
  std::string value;
  bool dir = false;
  std::optional<std::int64_t> ttl;  // absent: a key without TTL (a reservation)
  std::int64_t modified_index = 0, created_index = 0;
  std::vector<v2_node> nodes;
};

struct v2_answer {
  std::string action;  // get, set, create, update, compareAndSwap, delete, expire, compareAndDelete
  std::optional<v2_node> node, prev_node;
  std::int64_t error_code = 0;  // 100 key not found, 101 compare failed, 105 exists, 401 cleared
  std::string message;
  std::int64_t index = 0;  // the error's "index" (the store index at that time)
};

inline v2_node parse_v2_node(const json& j, const std::string& ctx, int depth = 0) {
  if (!j.is_object()) bad_answer(ctx, "node is not an object");
  if (depth > 64) bad_answer(ctx, "nodes nested too deep");
  v2_node n;
  auto key = j.find("key");
  if (key != j.end() && !key->is_null()) {
    if (!key->is_string()) bad_answer(ctx, "node key is not a string");
    n.key = key->get<std::string>();
  }
  if (auto v = j.find("value"); v != j.end() && !v->is_null()) {
    if (!v->is_string()) bad_answer(ctx, "node value is not a string");
    n.value = v->get<std::string>();
  }
  n.dir = get_bool(j, "dir", ctx);
  if (j.contains("ttl") && !j["ttl"].is_null()) n.ttl = get_i64(j, "ttl", ctx);
  n.modified_index = get_i64(j, "modifiedIndex", ctx);
  n.created_index = get_i64(j, "createdIndex", ctx);
  if (auto ns = j.find("nodes"); ns != j.end() && !ns->is_null()) {
    if (!ns->is_array()) bad_answer(ctx, "nodes is not an array");
    for (const auto& c : *ns)
      n.nodes.push_back(parse_v2_node(c, ctx, depth + 1));
  }
  return n;
}

inline v2_answer parse_v2_answer(std::string_view body, const std::string& ctx) {
  auto j = parse_json(body, ctx);
  v2_answer a;
  if (j.contains("errorCode")) {
    a.error_code = get_i64(j, "errorCode", ctx);
    if (auto m = j.find("message"); m != j.end() && m->is_string())
      a.message = m->get<std::string>();
    if (auto c = j.find("cause"); c != j.end() && c->is_string())
      a.message += " (" + c->get<std::string>() + ")";
    a.index = get_i64(j, "index", ctx);
    return a;
  }
  auto act = j.find("action");
  if (act == j.end() || !act->is_string()) bad_answer(ctx, "answer without \"action\"", body);
  a.action = act->get<std::string>();
  if (auto n = j.find("node"); n != j.end()) a.node = parse_v2_node(*n, ctx);
  if (auto p = j.find("prevNode"); p != j.end()) a.prev_node = parse_v2_node(*p, ctx);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Shared by both APIs: a subnet key + value -> lease. A value that is not flannel's JSON still
// marks its subnet as taken (attrs left empty), so one bad entry never lets a subnet be given
// twice.
inline std::optional<lease> lease_from_entry(std::string_view key, std::string_view subnets_prefix,
                                             std::string_view value) {
  if (key.substr(0, subnets_prefix.size()) != subnets_prefix) return std::nullopt;
  auto name = key.substr(subnets_prefix.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  lease l;
  try {
    auto parsed = parse_subnet_key(name);
    l.subnet = parsed.subnet;
    l.ipv6_subnet = parsed.ipv6_subnet;
  } catch (const error&) {
    return std::nullopt;  // not a subnet key: not ours to interpret
  }
  try {
    l.attrs = parse_lease_value(value);
  } catch (const error&) {
    l.attrs = lease_attrs{};
    l.attrs.backend_type.clear();
  }
  return l;
}

// The key just after every key with this prefix (etcd's range_end for a prefix).
inline std::string prefix_range_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace alivpc::lease::detail
