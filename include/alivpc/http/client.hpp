// An HTTP/1.1 client for one endpoint, over TCP or TLS, on an Asio io_context, awaited from
// alivpc::task. Used by the etcd stores and the AliCloud client.
//
//   http::client c(io, http::url::parse("https://127.0.0.1:2379"), {.tls = {.ca_file = "ca.pem"}});
//   http::response r = co_await c.send({.method = "POST", .target = "/v3/kv/range", .body = "{}"});
//
// - One idle keep-alive connection is kept and reused; when a reused connection turns out to be
//   closed by the server before it answered, the request is sent once more on a fresh one.
// - TLS verifies the server by default (CA file, else the system store; hostname or IP checked
//   against the certificate; SNI sent for names). A client certificate is optional.
// - Failures throw alivpc::error naming the endpoint and the method + path (never the query,
//   never credentials): transient for connect/reset/timeout, permanent for TLS verification.
// - HTTP status codes are not errors here: the caller reads response::status.
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/detail/base64.hpp>
#include <alivpc/error.hpp>
#include <alivpc/http/url.hpp>
#include <alivpc/runtime/asio_await.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/runtime/task.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::http {

struct tls_options {
  bool verify_peer = true;          // verification ON by default
  std::string ca_file;              // empty: the system store (set_default_verify_paths)
  std::string cert_file, key_file;  // optional client certificate (PEM)
  std::string server_name;          // SNI + hostname check; default: the URL's host
};

struct client_options {
  tls_options tls;
  std::optional<std::pair<std::string, std::string>> basic_auth;  // user, password (never logged)
  std::chrono::milliseconds connect_timeout{5000};   // resolve + TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{15000};  // write request + read whole response
  // TCP keepalive on every connection: a peer that vanished without a word (host gone, link
  // down, a middlebox that dropped the flow) fails a quiet connection after idle + interval x
  // count (60 s) instead of never. What lets a long watch wait long (etcd_options::watch_wait).
  struct keepalive_options {
    std::chrono::seconds idle{30}, interval{10};
    int count = 3;
  } keepalive;
  std::string user_agent = "alivpc/0.1";
  std::size_t max_body =
      std::size_t{64} * 1024 * 1024;  // send(): a larger response is a parse error
  // Where endpoint_pool says that an endpoint failed and it moved on (warning, rate-limited).
  // The default drops everything.
  alivpc::logger log;
};

struct request {
  std::string method = "GET";
  std::string target = "/";  // path + query; the endpoint's base path is prepended
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

struct response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (iequals(k, name)) return v;
    return {};
  }
};

// Limits for client::stream (0 = none).
struct stream_options {
  // Longest silence between two body pieces before the stream fails (transient).
  std::chrono::milliseconds idle_timeout{0};
  // Wall-clock bound for the whole stream; reaching it ends the stream normally (long polls).
  std::chrono::milliseconds max_duration{0};
  // Called once with status and headers (empty body) before any on_data call.
  std::function<void(const response&)> on_headers;
};

namespace detail {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// One connection, plain or TLS; the same Beast algorithms run on either.
struct connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
  template <class Fn>
  void visit(Fn&& fn) {
    if (tls)
      fn(*tls);
    else
      fn(*plain);
  }
  void close() {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
  }
};

// "POST /v3/kv/range" without the query (a query can carry secrets or be huge).
inline std::string describe(const request& r) {
  std::string_view t = r.target;
  return r.method + " " + std::string(t.substr(0, t.find('?')));
}

inline bool is_closed_by_peer(const error_code& ec) {
  return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

inline bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace detail

// A template only so that its coroutines are compiled where they are used: at -O0 GCC 12 compiles
// the body of every coroutine that a file defines or calls outside a template, used or not (here
// with Beast's and the TLS code: about a minute per file under ASan). `client` is the class;
// cloud/transport.hpp's functions over it are templates for the same reason.
template <class = void>
class basic_client {
 public:
  basic_client(boost::asio::io_context& io, url endpoint, client_options opts = {})
      : io_(io), endpoint_(std::move(endpoint)), opts_(std::move(opts)) {
    if (opts_.tls.server_name.empty()) opts_.tls.server_name = endpoint_.host;
    if (!opts_.basic_auth && !endpoint_.username.empty())
      opts_.basic_auth = std::pair{endpoint_.username, endpoint_.password};
    if (endpoint_.is_tls()) ssl_ = make_ssl_context();
  }
  basic_client(const basic_client&) = delete;
  basic_client& operator=(const basic_client&) = delete;
  ~basic_client() {
    if (idle_) idle_->close();
  }

  const url& endpoint() const noexcept { return endpoint_; }
  const client_options& options() const noexcept { return opts_; }

  // Drops the idle keep-alive connection (the next request connects afresh).
  void reset() {
    if (idle_) idle_->close();
    idle_.reset();
  }

  task<response> send(request req) {
    namespace http = boost::beast::http;
    const std::string what = context(req);
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<detail::connection> conn;
      const bool reused = idle_ != nullptr;
      if (reused)
        conn = std::move(idle_);
      else
        conn = co_await connect(what);
      auto msg = build(req);
      conn->tcp().expires_after(opts_.request_timeout);
      auto [wec, wn] = co_await asio_op<void(detail::error_code, std::size_t)>(
          [&](auto h) { conn->visit([&](auto& s) { http::async_write(s, msg, std::move(h)); }); });
      if (wec) {
        conn->close();
        if (reused && attempt == 0 && detail::is_closed_by_peer(wec)) continue;
        throw_io(what, "sending the request", wec);
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(opts_.max_body);
      auto [rec, rn] = co_await asio_op<void(detail::error_code, std::size_t)>([&](auto h) {
        conn->visit([&](auto& s) { http::async_read(s, conn->buffer, parser, std::move(h)); });
      });
      if (rec) {
        conn->close();
        // The classic keep-alive race: the server closed the idle connection as we reused it.
        if (reused && attempt == 0 && rn == 0 && detail::is_closed_by_peer(rec)) continue;
        if (rec == http::error::body_limit)
          fail(error_kind::parse,
               what + ": response body larger than " + std::to_string(opts_.max_body) + " bytes");
        throw_io(what, "reading the response", rec);
      }
      auto& res = parser.get();
      response out;
      out.status = res.result_int();
      for (const auto& f : res)
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      out.body = std::move(res.body());
      if (res.keep_alive()) {
        conn->tcp().expires_never();
        idle_ = std::move(conn);
      } else {
        conn->close();
      }
      ++requests_;
      co_return out;
    }
  }

  // Sends req on a connection of its own and passes each body piece to on_data as it arrives
  // (piece boundaries are arbitrary). Returns the status when the body ends, when on_data
  // returns false, or when opts.max_duration is reached; throws transient when the connection
  // drops or stays silent longer than opts.idle_timeout.
  task<unsigned> stream(request req, std::function<bool(std::string_view)> on_data,
                        stream_options sopts = {}) {
    namespace http = boost::beast::http;
    using clock = std::chrono::steady_clock;
    const std::string what = context(req);
    const auto started = clock::now();
    auto conn = co_await connect(what);
    auto msg = build(req);
    conn->tcp().expires_after(opts_.request_timeout);
    auto [wec, wn] = co_await asio_op<void(detail::error_code, std::size_t)>(
        [&](auto h) { conn->visit([&](auto& s) { http::async_write(s, msg, std::move(h)); }); });
    if (wec) {
      conn->close();
      throw_io(what, "sending the request", wec);
    }
    // Deadline for the next read: the request timeout for the header, then idle/max limits.
    bool max_bounds = false;
    auto arm = [&](std::chrono::milliseconds base) {
      auto limit = base;
      max_bounds = false;
      if (sopts.max_duration.count() > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(sopts.max_duration -
                                                                          (clock::now() - started));
        if (left.count() < 1) left = std::chrono::milliseconds(1);
        if (limit.count() == 0 || left <= limit) {
          limit = left;
          max_bounds = true;
        }
      }
      if (limit.count() > 0)
        conn->tcp().expires_after(limit);
      else
        conn->tcp().expires_never();
    };
    http::response_parser<http::buffer_body> parser;
    // Not boost::none: Boost 1.74 compares a Content-Length against an empty limit as "exceeded".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    arm(opts_.request_timeout);
    auto [hec, hn] = co_await asio_op<void(detail::error_code, std::size_t)>([&](auto h) {
      conn->visit([&](auto& s) { http::async_read_header(s, conn->buffer, parser, std::move(h)); });
    });
    if (hec) {
      conn->close();
      if (hec == boost::beast::error::timeout && max_bounds) co_return 0;
      throw_io(what, "reading the response header", hec);
    }
    const unsigned status = parser.get().result_int();
    if (sopts.on_headers) {
      response head;
      head.status = status;
      for (const auto& f : parser.get())
        head.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      sopts.on_headers(head);
    }
    char piece[16 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      arm(sopts.idle_timeout);
      // read_some returns after each piece of progress, so pieces reach on_data as they arrive.
      auto [ec, n] = co_await asio_op<void(detail::error_code, std::size_t)>([&](auto h) {
        conn->visit([&](auto& s) { http::async_read_some(s, conn->buffer, parser, std::move(h)); });
      });
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = sizeof piece - parser.get().body().size;
      if (got > 0 && !on_data(std::string_view(piece, got))) break;
      if (ec) {
        conn->close();
        if (ec == boost::beast::error::timeout && max_bounds) co_return status;
        if (ec == boost::beast::error::timeout)
          fail(error_kind::transient,
               what + ": no data for " + std::to_string(sopts.idle_timeout.count()) + " ms");
        throw_io(what, "reading the response body", ec);
      }
    }
    conn->close();
    co_return status;
  }

  // Requests completed (for tests and metrics) and connections opened (keep-alive reuse shows as
  // fewer connections than requests).
  std::size_t requests_completed() const noexcept { return requests_; }
  std::size_t connections_opened() const noexcept { return connections_; }

 private:
  std::string context(const request& r) const {
    return detail::describe(r) + " on " + endpoint_.to_string();
  }

  [[noreturn]] void throw_io(const std::string& what, const char* step,
                             const detail::error_code& ec) {
    if (ec == boost::beast::error::timeout)
      fail(error_kind::transient, what + ": timed out " + step + " (after " +
                                      std::to_string(opts_.request_timeout.count()) + " ms)");
    fail(error_kind::transient, what + ": " + step + ": " + ec.message());
  }

  std::shared_ptr<boost::asio::ssl::context> make_ssl_context() {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    const std::string where = "TLS for " + endpoint_.to_string();
    detail::error_code ec;
    if (opts_.tls.verify_peer) {
      ctx->set_verify_mode(ssl::verify_peer, ec);
      if (!opts_.tls.ca_file.empty()) {
        ctx->load_verify_file(opts_.tls.ca_file, ec);
        if (ec)
          fail(error_kind::invalid_argument,
               where + ": cannot load CA file " + opts_.tls.ca_file + ": " + ec.message());
      } else {
        ctx->set_default_verify_paths(ec);
        if (ec) fail(error_kind::invalid_argument, where + ": no system CA store: " + ec.message());
      }
    } else {
      ctx->set_verify_mode(ssl::verify_none, ec);
    }
    if (!opts_.tls.cert_file.empty() || !opts_.tls.key_file.empty()) {
      if (opts_.tls.cert_file.empty() || opts_.tls.key_file.empty())
        fail(error_kind::invalid_argument,
             where + ": a client certificate needs both a cert file and a key file");
      ctx->use_certificate_chain_file(opts_.tls.cert_file, ec);
      if (ec)
        fail(error_kind::invalid_argument, where + ": cannot load client certificate " +
                                               opts_.tls.cert_file + ": " + ec.message());
      ctx->use_private_key_file(opts_.tls.key_file, ssl::context::pem, ec);
      if (ec)
        fail(error_kind::invalid_argument,
             where + ": cannot load client key " + opts_.tls.key_file + ": " + ec.message());
    }
    return ctx;
  }

  void keep_alive(detail::tcp::socket& socket, const std::string& what) {
    const auto& k = opts_.keepalive;
    const int on = 1, idle = static_cast<int>(k.idle.count()),
              interval = static_cast<int>(k.interval.count());
    const int fd = socket.native_handle();
    if (::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) != 0 ||
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &k.count, sizeof k.count) != 0)
      fail(error_kind::invalid_argument,
           what + ": cannot set TCP keepalive (idle " + std::to_string(idle) + " s, interval " +
               std::to_string(interval) + " s, count " + std::to_string(k.count) +
               "): " + std::strerror(errno));
  }

  task<std::unique_ptr<detail::connection>> connect(const std::string& what) {
    namespace asio = boost::asio;
    auto conn = std::make_unique<detail::connection>();
    if (ssl_)
      conn->tls.emplace(io_, *ssl_);
    else
      conn->plain.emplace(io_);
    detail::tcp::resolver resolver(io_);
    auto [ec, results] =
        co_await asio_op<void(detail::error_code, detail::tcp::resolver::results_type)>(
            [&](auto h) {
              resolver.async_resolve(endpoint_.host, std::to_string(endpoint_.port), std::move(h));
            });
    if (ec)
      fail(error_kind::transient,
           what + ": cannot resolve " + endpoint_.host + ": " + ec.message());
    conn->tcp().expires_after(opts_.connect_timeout);
    // A named copy: clang before 16 cannot capture a structured binding in a lambda.
    auto resolved = results;
    auto [cec, ep] = co_await asio_op<void(detail::error_code, detail::tcp::endpoint)>(
        [&](auto h) { conn->tcp().async_connect(resolved, std::move(h)); });
    if (cec) {
      if (cec == boost::beast::error::timeout)
        fail(error_kind::transient, what + ": connect timed out after " +
                                        std::to_string(opts_.connect_timeout.count()) + " ms");
      fail(error_kind::transient, what + ": cannot connect: " + cec.message());
    }
    conn->tcp().socket().set_option(detail::tcp::no_delay(true));
    keep_alive(conn->tcp().socket(), what);
    ++connections_;
    if (conn->tls) {
      const std::string& name = opts_.tls.server_name;
      SSL* native = conn->tls->native_handle();
      if (!detail::is_ip_literal(name) && !SSL_set_tlsext_host_name(native, name.c_str()))
        fail(error_kind::invalid_argument, what + ": cannot set TLS server name " + name);
      if (opts_.tls.verify_peer)
        conn->tls->set_verify_callback(asio::ssl::host_name_verification(name));
      auto [hec] = co_await asio_op<void(detail::error_code)>([&](auto h) {
        conn->tls->async_handshake(asio::ssl::stream_base::client, std::move(h));
      });
      if (hec) {
        conn->close();
        if (hec == boost::beast::error::timeout)
          fail(error_kind::transient, what + ": TLS handshake timed out");
        if (hec.category() == asio::error::get_ssl_category()) {
          std::string why = hec.message();
          long vr = SSL_get_verify_result(native);
          if (vr != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(vr) + ")";
          fail(error_kind::permanent,
               what + ": TLS handshake failed (server " + name + "): " + why);
        }
        fail(error_kind::transient, what + ": TLS handshake failed: " + hec.message());
      }
    }
    co_return conn;
  }

  boost::beast::http::request<boost::beast::http::string_body> build(const request& r) const {
    namespace http = boost::beast::http;
    http::request<http::string_body> msg;
    msg.method_string(r.method);
    msg.target(endpoint_.path + r.target);
    msg.version(11);
    msg.set(http::field::host, endpoint_.host_for_url() + ":" + std::to_string(endpoint_.port));
    msg.set(http::field::user_agent, opts_.user_agent);
    if (opts_.basic_auth)
      msg.set(http::field::authorization,
              "Basic " + alivpc::detail::base64_encode(opts_.basic_auth->first + ":" +
                                                       opts_.basic_auth->second));
    for (const auto& [k, v] : r.headers)
      msg.set(k, v);
    msg.keep_alive(true);
    msg.body() = r.body;
    msg.prepare_payload();
    return msg;
  }

  boost::asio::io_context& io_;
  url endpoint_;
  client_options opts_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;
  std::unique_ptr<detail::connection> idle_;
  std::size_t requests_ = 0, connections_ = 0;
};
using client = basic_client<>;

}  // namespace alivpc::http
