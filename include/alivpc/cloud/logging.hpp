// Where the cloud client reports what it does (retries, throttling, credential refreshes).
// The daemon plugs its logger in; the default drops everything. Messages never hold secrets.
// A sink takes (level, message) or, to see the structured fields (action, error_code,
// request_id, table, subnet, ...), (level, message, fields); a plain sink gets the fields
// appended to the message.
#pragma once

#include <alivpc/runtime/log.hpp>

#include <concepts>
#include <functional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace alivpc::cloud {

enum class log_level { debug, info, warning, error };

class log_function {
 public:
  using structured_type =
      std::function<void(log_level, std::string_view, const alivpc::log_fields&)>;

  log_function() = default;
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, log_function> &&
           std::invocable<F&, log_level, std::string_view, const alivpc::log_fields&>)
      log_function(F f)
      : f_(std::move(f)) {}  // NOLINT(google-explicit-constructor): a callable
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, log_function> &&
           !std::invocable<F&, log_level, std::string_view, const alivpc::log_fields&> &&
           std::invocable<F&, log_level, std::string_view>)
      log_function(F f)  // NOLINT(google-explicit-constructor): a callable
      : f_([g = std::move(f)](log_level l, std::string_view m,
                              const alivpc::log_fields& fields) mutable {
          if (fields.empty())
            g(l, m);
          else
            g(l, alivpc::message_with_fields(m, fields));
        }) {}

  explicit operator bool() const noexcept { return static_cast<bool>(f_); }
  void operator()(log_level l, std::string_view m, const alivpc::log_fields& fields = {}) const {
    f_(l, m, fields);
  }

 private:
  structured_type f_;
};

namespace detail {
inline void log(const log_function& sink, log_level level, std::string_view message,
                const alivpc::log_fields& fields = {}) {
  if (sink) sink(level, message, fields);
}
}  // namespace detail

}  // namespace alivpc::cloud
