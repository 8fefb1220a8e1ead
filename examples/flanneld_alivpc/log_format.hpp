// How the daemon writes its log: --log-format=text (one readable line per event) or json (one
// JSON object per line, for log shippers). Both carry the time in RFC 3339 UTC with
// milliseconds, the level, the component, the message and the structured fields; neither is
// ever given a secret (the logger's callers make sure of that).
#pragma once

#include <alivpc/runtime/log.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace flanneld_alivpc {

enum class log_format { text, json };

// "2026-11-27T10:00:00.123Z"
inline std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::floor<std::chrono::seconds>(since);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char stamp[40];
  auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms));
  return stamp;
}

// "2026-11-27T10:00:00.123Z info    flanneld: ready: lease 10.24.5.0/24 table=vtb-1"
inline std::string text_line(const alivpc::log_record& r, std::chrono::system_clock::time_point t) {
  std::string level(to_string(r.level));
  level.resize(7, ' ');
  return rfc3339_utc(t) + " " + level + " " + std::string(r.component) + ": " +
         alivpc::message_with_fields(r.message, r.fields) + "\n";
}

// {"time":"...","level":"info","component":"flanneld","message":"...","subnet":"..."}
// A field named like one of the four fixed keys is written as "field_<key>"; text that is not
// valid UTF-8 is replaced, never dropped, so every line stays valid JSON.
inline std::string json_line(const alivpc::log_record& r, std::chrono::system_clock::time_point t) {
  nlohmann::ordered_json j;
  j["time"] = rfc3339_utc(t);
  j["level"] = std::string(to_string(r.level));
  j["component"] = std::string(r.component);
  j["message"] = std::string(r.message);
  for (const auto& f : r.fields) {
    bool fixed = f.key == "time" || f.key == "level" || f.key == "component" || f.key == "message";
    j[fixed ? "field_" + f.key : f.key] = f.value;
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// The daemon's logger: every event as one line on stderr, flushed at once.
inline alivpc::logger make_logger(log_format format, alivpc::log_level min,
                                  std::string component = "flanneld") {
  return alivpc::logger(alivpc::logger::record_sink_type([format](const alivpc::log_record& r) {
                          auto now = std::chrono::system_clock::now();
                          auto line =
                              format == log_format::json ? json_line(r, now) : text_line(r, now);
                          std::fwrite(line.data(), 1, line.size(), stderr);
                          std::fflush(stderr);
                        }),
                        min, std::move(component));
}

}  // namespace flanneld_alivpc
