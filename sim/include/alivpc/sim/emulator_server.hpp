// HTTP/1.1 and HTTPS server for alivpc-emulator on Boost.Beast (one io_context thread).
// Each connection reads requests, asks emulator_service for the answer, waits the modelled
// latency, then writes it (keep-alive) or, for an injected drop, closes without answering.
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/sim/emulator_service.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace alivpc::sim {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Called once per answered request (for the log): method, action, outcome, status, latency.
using request_logger =
    std::function<void(const std::string& method, const http_answer&, clock_duration)>;

class emulator_server {
 public:
  emulator_server(asio::io_context& io, emulator_service& service, const tcp::endpoint& listen,
                  std::optional<asio::ssl::context> tls = std::nullopt, request_logger log = {})
      : io_(io), service_(service), acceptor_(io), tls_(std::move(tls)), log_(std::move(log)) {
    acceptor_.open(listen.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(listen);
    acceptor_.listen();
  }

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  bool tls() const noexcept { return tls_.has_value(); }
  std::string url() const {
    auto ep = local_endpoint();
    return std::string(tls_ ? "https://" : "http://") + ep.address().to_string() + ":" +
           std::to_string(ep.port());
  }

  void start() { accept(); }
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  template <class Stream>
  class session : public std::enable_shared_from_this<session<Stream>> {
   public:
    template <class... Args>
    session(emulator_server& srv, Args&&... args)
        : srv_(srv), stream_(std::forward<Args>(args)...), timer_(srv.io_) {}

    void start() {
      if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
        stream_.async_handshake(asio::ssl::stream_base::server,
                                [self = this->shared_from_this()](boost::system::error_code ec) {
                                  if (!ec) self->read();
                                });
      } else {
        read();
      }
    }

   private:
    void read() {
      parser_.emplace();
      parser_->body_limit(1 << 20);
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(120));
      http::async_read(stream_, buffer_, *parser_,
                       [self = this->shared_from_this()](boost::system::error_code ec,
                                                         std::size_t) { self->on_read(ec); });
    }

    void on_read(boost::system::error_code ec) {
      if (ec) return close();
      auto& req = parser_->get();
      http_request in;
      in.method = std::string(req.method_string());
      in.target = std::string(req.target());
      for (const auto& field : req)
        in.headers.emplace_back(field.name_string(), field.value());
      in.body = req.body();
      keep_alive_ = req.keep_alive();
      version_ = req.version();
      started_ = std::chrono::steady_clock::now();
      answer_ = srv_.service_.handle(in, std::chrono::system_clock::now(), started_);
      timer_.expires_at(started_ + (answer_.hang ? std::chrono::minutes(10) : answer_.delay));
      if (answer_.hang) beast::get_lowest_layer(stream_).expires_never();
      timer_.async_wait(
          [self = this->shared_from_this()](boost::system::error_code) { self->respond(); });
    }

    void respond() {
      if (srv_.log_) srv_.log_(method_of(), answer_, std::chrono::steady_clock::now() - started_);
      if (answer_.drop) return close();
      res_ = {};
      res_.version(version_);
      res_.result(static_cast<http::status>(answer_.status));
      res_.set(http::field::server, "alivpc-emulator");
      res_.set(http::field::content_type, answer_.content_type);
      res_.keep_alive(keep_alive_);
      res_.body() = answer_.body;
      res_.prepare_payload();
      http::async_write(
          stream_, res_,
          [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec || !self->keep_alive_) return self->close();
            self->read();
          });
    }

    std::string method_of() const {
      return parser_ ? std::string(parser_->get().method_string()) : "";
    }

    void close() {
      boost::system::error_code ec;
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(stream_).close();
    }

    emulator_server& srv_;
    Stream stream_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    http_answer answer_;
    bool keep_alive_ = true;
    unsigned version_ = 11;
    std::chrono::steady_clock::time_point started_;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        return accept();
      }
      if (tls_) {
        std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket),
                                                                        *tls_)
            ->start();
      } else {
        std::make_shared<session<beast::tcp_stream>>(*this, std::move(socket))->start();
      }
      accept();
    });
  }

  asio::io_context& io_;
  emulator_service& service_;
  tcp::acceptor acceptor_;
  std::optional<asio::ssl::context> tls_;
  request_logger log_;
};

}  // namespace alivpc::sim
