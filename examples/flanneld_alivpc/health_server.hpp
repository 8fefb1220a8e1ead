// /healthz and /metrics over Boost.Beast on the daemon's io_context (one thread, no locks).
// /healthz answers 200 "ok" while the backend is healthy, 503 with the reason otherwise;
// /metrics answers Prometheus text built by the daemon at request time.
#pragma once

#include <utility>  // before Asio: Boost 1.74 + GCC 12 coroutine support needs it

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <string>

namespace flanneld_alivpc {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

class health_server {
 public:
  struct handlers {
    std::function<std::pair<bool, std::string>()> health;  // healthy?, reason
    std::function<std::string()> metrics;
  };

  health_server(boost::asio::io_context& io, const tcp::endpoint& at, handlers h)
      : acceptor_(io), handlers_(std::move(h)) {
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
  }

 private:
  struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, handlers& h) : stream(std::move(s)), h(h) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    handlers& h;

    void read() {
      req = {};
      stream.expires_after(std::chrono::seconds(10));
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

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) std::make_shared<session>(std::move(socket), handlers_)->read();
      accept();
    });
  }

  tcp::acceptor acceptor_;
  handlers handlers_;
};

}  // namespace flanneld_alivpc
