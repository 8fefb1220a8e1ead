// A tiny logger: one event per call, with a level, a component, a message and optional
// structured fields ("subnet", "table", "request_id", ...). Library code logs through a logger it
// is given; the default sink drops everything, so an embedding agent decides where lines go and
// in which format. Never pass a secret to it, neither in the message nor in a field.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alivpc {

enum class log_level { debug = 0, info = 1, warning = 2, error = 3 };

constexpr std::string_view to_string(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
  }
  return "?";
}

inline bool parse_log_level(std::string_view s, log_level& out) {
  for (auto l : {log_level::debug, log_level::info, log_level::warning, log_level::error}) {
    if (s == to_string(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

// One structured field of an event. Keys are snake_case identifiers; values are text.
struct log_field {
  std::string key;
  std::string value;
};
using log_fields = std::vector<log_field>;

// One event as a structured sink sees it: the logger's context fields first, then the call's.
struct log_record {
  log_level level;
  std::string_view component;
  std::string_view message;
  const log_fields& fields;
};

// The message with its fields as " key=value" (quoted when the value has a space), for sinks that
// write plain text. A field whose value the message already says is not repeated.
inline std::string message_with_fields(std::string_view message, const log_fields& fields) {
  std::string out(message);
  for (const auto& f : fields) {
    if (f.value.empty() || message.find(f.value) != std::string_view::npos) continue;
    bool quote = f.value.find_first_of(" \t\"") != std::string::npos;
    out += ' ';
    out += f.key;
    out += '=';
    if (!quote) {
      out += f.value;
      continue;
    }
    out += '"';
    for (char c : f.value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

class logger {
 public:
  // A plain sink: the fields reach it appended to the message (message_with_fields).
  using sink_type = std::function<void(log_level, std::string_view component, std::string_view)>;
  // A structured sink: it sees the fields as they are (the daemon's JSON lines use this).
  using record_sink_type = std::function<void(const log_record&)>;

  logger() = default;
  explicit logger(sink_type sink, log_level min = log_level::info, std::string component = {})
      : min_(min), component_(std::move(component)) {
    if (sink)
      sink_ = [s = std::move(sink)](const log_record& r) {
        if (r.fields.empty())
          s(r.level, r.component, r.message);
        else
          s(r.level, r.component, message_with_fields(r.message, r.fields));
      };
  }
  explicit logger(record_sink_type sink, log_level min = log_level::info,
                  std::string component = {})
      : sink_(std::move(sink)), min_(min), component_(std::move(component)) {}

  // The same sink under another component name ("backend", "lease", "cloud", ...).
  logger child(std::string component) const {
    logger l = *this;
    l.component_ = std::move(component);
    return l;
  }
  // The same sink, every event carrying these fields too (e.g. the subnet once it is known).
  logger with(log_fields context) const {
    logger l = *this;
    l.context_.insert(l.context_.end(), std::make_move_iterator(context.begin()),
                      std::make_move_iterator(context.end()));
    return l;
  }

  bool enabled(log_level l) const noexcept { return sink_ && l >= min_; }
  void log(log_level l, std::string_view message, const log_fields& fields = {}) const {
    if (!enabled(l)) return;
    if (context_.empty()) {
      sink_(log_record{l, component_, message, fields});
      return;
    }
    log_fields all = context_;
    all.insert(all.end(), fields.begin(), fields.end());
    sink_(log_record{l, component_, message, all});
  }
  void debug(std::string_view m, const log_fields& f = {}) const { log(log_level::debug, m, f); }
  void info(std::string_view m, const log_fields& f = {}) const { log(log_level::info, m, f); }
  void warn(std::string_view m, const log_fields& f = {}) const { log(log_level::warning, m, f); }
  void error(std::string_view m, const log_fields& f = {}) const { log(log_level::error, m, f); }

 private:
  record_sink_type sink_;
  log_level min_ = log_level::info;
  std::string component_;
  log_fields context_;
};

}  // namespace alivpc
