// How the cloud client sends one HTTP request: a function, so the same client runs over the real
// http::client (HTTPS on an io_context) or over an in-process fake on virtual time.
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/http/client.hpp>
#include <alivpc/http/url.hpp>
#include <alivpc/runtime/task.hpp>

#include <functional>
#include <memory>

namespace alivpc::cloud {

using send_function = std::function<task<http::response>(http::request)>;

// Makes the sender for one endpoint; the route API calls it once the endpoint is known.
using transport_factory =
    std::function<send_function(const http::url& endpoint, const http::client_options& options)>;

namespace detail {
template <class Client>
task<http::response> send_over(std::shared_ptr<Client> c, http::request r) {
  co_return co_await c->send(std::move(r));
}
}  // namespace detail

// A sender over one keep-alive http::client (the client lives as long as the function).
// Templates, as http::client is, so that it is compiled only where it is used (see there).
template <class IoContext>
send_function make_http_sender(IoContext& io, const http::url& endpoint,
                               const http::client_options& options) {
  auto c = std::make_shared<http::client>(io, endpoint, options);
  return [c](http::request r) { return detail::send_over(c, std::move(r)); };
}

template <class IoContext>
transport_factory http_transport(IoContext& io) {
  return [&io](const http::url& endpoint, const http::client_options& options) {
    return make_http_sender(io, endpoint, options);
  };
}

// The Host header as the official SDKs send (and sign) it: the port only when not the default.
inline std::string host_header(const http::url& u) {
  bool default_port = (u.is_tls() && u.port == 443) || (!u.is_tls() && u.port == 80);
  return default_port ? u.host_for_url() : u.host_for_url() + ":" + std::to_string(u.port);
}

}  // namespace alivpc::cloud
