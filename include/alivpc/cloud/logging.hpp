// Where the cloud client reports what it does (retries, throttling, credential refreshes).
// The daemon plugs its logger in; the default drops everything. Messages never hold secrets.
#pragma once

#include <functional>
#include <string_view>

namespace alivpc::cloud {

enum class log_level { debug, info, warning, error };

using log_function = std::function<void(log_level, std::string_view)>;

namespace detail {
inline void log(const log_function& sink, log_level level, std::string_view message) {
  if (sink) sink(level, message);
}
}  // namespace detail

}  // namespace alivpc::cloud
