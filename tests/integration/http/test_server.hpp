// A tiny HTTP/1.1 server on 127.0.0.1 for the client tests: synchronous Beast, one thread per
// connection, plain or TLS. The test decides per request what to answer.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace alivpc_test {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct server_reply {
  unsigned status = 200;
  std::string body;
  bool keep_alive = true;
  bool never_answer = false;        // read the request, then stay silent until shutdown
  std::vector<std::string> chunks;  // non-empty: send a chunked body, one write per chunk
  std::chrono::milliseconds chunk_gap{0};
  std::string content_type;  // non-chunked replies: sent when not empty
  std::vector<std::pair<std::string, std::string>> headers;
};

struct seen_request {
  std::string method, target, authorization, body;
  int connection = 0;  // which accepted connection carried it (1, 2, ...)
};

class test_server {
 public:
  using handler = std::function<server_reply(const seen_request&)>;

  // tls: nullptr for plain HTTP, else a server context with certificate and key loaded.
  explicit test_server(handler h, std::shared_ptr<asio::ssl::context> tls = nullptr)
      : handler_(std::move(h)),
        tls_(std::move(tls)),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~test_server() {
    stopping_ = true;
    boost::system::error_code ec;
    {
      std::lock_guard lock(mutex_);
      for (auto& s : sockets_)
        s->shutdown(tcp::socket::shutdown_both, ec);
    }
    // Wake the blocking accept with a throwaway connection.
    tcp::socket poke(io_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    accept_thread_.join();
    for (auto& t : threads_)
      t.join();
  }

  unsigned short port() const { return port_; }
  int connections() const { return accepted_.load(); }
  std::vector<seen_request> requests() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      auto sock = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*sock, ec);
      if (ec || stopping_) break;
      int id = ++accepted_;
      {
        std::lock_guard lock(mutex_);
        sockets_.push_back(sock);
      }
      threads_.emplace_back([this, sock, id] { serve(sock, id); });
    }
  }

  void serve(std::shared_ptr<tcp::socket> sock, int id) {
    try {
      if (tls_) {
        asio::ssl::stream<tcp::socket&> s(*sock, *tls_);
        s.handshake(asio::ssl::stream_base::server);
        session(s, id);
      } else {
        session(*sock, id);
      }
    } catch (const std::exception&) {
      // The client went away or refused our certificate: that is what some tests want.
    }
  }

  template <class Stream>
  void session(Stream& s, int id) {
    beast::flat_buffer buf;
    for (;;) {
      beast::http::request<beast::http::string_body> req;
      beast::http::read(s, buf, req);
      seen_request seen{std::string(req.method_string()), std::string(req.target()),
                        std::string(req[beast::http::field::authorization]), req.body(), id};
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(seen);
      }
      server_reply r = handler_(seen);
      if (r.never_answer) {
        while (!stopping_)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return;
      }
      if (!r.chunks.empty()) {
        std::string head =
            "HTTP/1.1 " + std::to_string(r.status) +
            " OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n";
        asio::write(s, asio::buffer(head));
        for (const auto& c : r.chunks) {
          std::this_thread::sleep_for(r.chunk_gap);
          char len[32];
          std::snprintf(len, sizeof len, "%zx\r\n", c.size());
          asio::write(s, asio::buffer(std::string(len) + c + "\r\n"));
        }
        asio::write(s, asio::buffer(std::string("0\r\n\r\n")));
      } else {
        beast::http::response<beast::http::string_body> res{
            static_cast<beast::http::status>(r.status), 11};
        res.body() = r.body;
        if (!r.content_type.empty()) res.set(beast::http::field::content_type, r.content_type);
        for (const auto& [k, v] : r.headers)
          res.set(k, v);
        res.keep_alive(r.keep_alive && req.keep_alive());
        res.prepare_payload();
        beast::http::write(s, res);
        if (!res.keep_alive()) return;
      }
    }
  }

  handler handler_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<seen_request> seen_;
};

}  // namespace alivpc_test
