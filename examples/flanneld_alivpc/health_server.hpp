// /healthz and /metrics over Boost.Beast on the daemon's io_context (one thread, no locks).
// /healthz answers 200 "ok" while the backend is healthy, 503 with the reason otherwise;
// /metrics answers Prometheus text built by the daemon at request time. Bounded: at most
// limits::max_connections at once, each closed after limits::read_timeout without a request, and
// accept errors (out of file descriptors) back off instead of spinning.
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/runtime/log.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace flanneld_alivpc {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// The port may be reachable from the node's network: a scan or a slow client must not eat the
// daemon's file descriptors or memory.
struct health_server_limits {
  std::size_t max_connections = 32;                   // more are closed at once
  std::chrono::milliseconds read_timeout{5000};       // to receive a whole request, or to send back
  std::chrono::milliseconds accept_backoff_min{100};  // after an accept error (EMFILE, ...)
  std::chrono::milliseconds accept_backoff_max{1000};
  std::chrono::seconds log_every{10};  // at most one line per kind of trouble this often
};

class health_server {
 public:
  struct handlers {
    std::function<std::pair<bool, std::string>()> health;  // healthy?, reason
    std::function<std::string()> metrics;
  };
  using limits = health_server_limits;

  health_server(boost::asio::io_context& io, const tcp::endpoint& at, handlers h,
                limits l = limits{}, alivpc::logger log = {})
      : acceptor_(io),
        retry_timer_(io),
        handlers_(std::move(h)),
        limits_(l),
        log_(std::move(log)),
        state_(std::make_shared<shared_state>()) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen();
    accept();
  }
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void close() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    retry_timer_.cancel();
  }
  std::size_t open_connections() const noexcept { return state_->open; }
  std::uint64_t refused_connections() const noexcept { return refused_; }

 private:
  // Outlives the server while sessions finish.
  struct shared_state {
    std::size_t open = 0;
  };

  struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, handlers& h, std::chrono::milliseconds timeout,
            std::shared_ptr<shared_state> st)
        : stream(std::move(s)), h(h), timeout(timeout), state(std::move(st)) {
      ++state->open;
    }
    ~session() { --state->open; }
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    handlers& h;
    std::chrono::milliseconds timeout;
    std::shared_ptr<shared_state> state;

    void read() {
      req = {};
      // A connection that sends nothing (or too slowly) is closed after the timeout.
      stream.expires_after(timeout);
      http::async_read(stream, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->respond();
                       });
    }
    void respond() {
      res = {};
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      auto target = std::string(req.target());
      if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.body() = "only GET\n";
      } else if (target == "/healthz") {
        auto [ok, reason] = h.health();
        res.result(ok ? http::status::ok : http::status::service_unavailable);
        res.body() = ok ? "ok\n" : reason + "\n";
      } else if (target == "/metrics") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4");
        res.body() = h.metrics();
      } else {
        res.result(http::status::not_found);
        res.body() = "not found: try /healthz or /metrics\n";
      }
      if (!res.count(http::field::content_type)) res.set(http::field::content_type, "text/plain");
      res.prepare_payload();
      stream.expires_after(timeout);
      http::async_write(stream, res,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || !self->res.keep_alive()) {
                            self->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
                            return;
                          }
                          self->read();
                        });
    }
  };

  // One line per kind of trouble per log_every, with the count of what was not logged.
  struct rate_limited {
    std::chrono::steady_clock::time_point last{};
    std::uint64_t suppressed = 0;
    bool due(std::chrono::seconds every) {
      auto now = std::chrono::steady_clock::now();
      if (last != std::chrono::steady_clock::time_point{} && now - last < every) {
        ++suppressed;
        return false;
      }
      last = now;
      return true;
    }
    std::string note() {
      std::string n =
          suppressed ? " (" + std::to_string(suppressed) + " more since last said)" : "";
      suppressed = 0;
      return n;
    }
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // EMFILE/ENFILE/ENOBUFS: accepting again at once would spin at full CPU. Wait, longer
        // each time, then re-arm.
        backoff_ = backoff_.count() == 0 ? limits_.accept_backoff_min
                                         : std::min(backoff_ * 2, limits_.accept_backoff_max);
        if (accept_errors_.due(limits_.log_every))
          log_.warn("/healthz: accept failed: " + ec.message() + "; retrying in " +
                    std::to_string(backoff_.count()) + " ms" + accept_errors_.note());
        retry_timer_.expires_after(backoff_);
        retry_timer_.async_wait([this](beast::error_code tec) {
          if (!tec) accept();
        });
        return;
      }
      backoff_ = std::chrono::milliseconds(0);
      if (state_->open >= limits_.max_connections) {
        ++refused_;
        beast::error_code ignored;
        socket.close(ignored);
        if (refusals_.due(limits_.log_every))
          log_.warn("/healthz: " + std::to_string(state_->open) +
                    " connections open (the limit): closed a new one" + refusals_.note());
      } else {
        std::make_shared<session>(std::move(socket), handlers_, limits_.read_timeout, state_)
            ->read();
      }
      accept();
    });
  }

  tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  handlers handlers_;
  limits limits_;
  alivpc::logger log_;
  std::shared_ptr<shared_state> state_;
  std::chrono::milliseconds backoff_{0};
  std::uint64_t refused_ = 0;
  rate_limited accept_errors_, refusals_;
};

}  // namespace flanneld_alivpc
