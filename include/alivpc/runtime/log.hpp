// A tiny logger: one line per event with level (and, in the daemon's sink, time).
// Library code logs through a logger it is given; the default sink drops everything, so an
// embedding agent decides where lines go. Never pass a secret to it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

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

class logger {
 public:
  using sink_type = std::function<void(log_level, std::string_view component, std::string_view)>;
  logger() = default;
  explicit logger(sink_type sink, log_level min = log_level::info, std::string component = {})
      : sink_(std::move(sink)), min_(min), component_(std::move(component)) {}

  // The same sink under another component name ("backend", "lease", "cloud", ...).
  logger child(std::string component) const { return logger(sink_, min_, std::move(component)); }

  bool enabled(log_level l) const noexcept { return sink_ && l >= min_; }
  void log(log_level l, std::string_view message) const {
    if (enabled(l)) sink_(l, component_, message);
  }
  void debug(std::string_view m) const { log(log_level::debug, m); }
  void info(std::string_view m) const { log(log_level::info, m); }
  void warn(std::string_view m) const { log(log_level::warning, m); }
  void error(std::string_view m) const { log(log_level::error, m); }

 private:
  sink_type sink_;
  log_level min_ = log_level::info;
  std::string component_;
};

}  // namespace alivpc
