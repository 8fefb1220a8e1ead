// The /healthz server under abuse (issue 11): idle connections are closed after the read
// timeout, connections beyond the cap are closed at once, and /healthz keeps answering.
#include <flanneld_alivpc/health_server.hpp>

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <thread>

using namespace std::chrono_literals;
using flanneld_alivpc::health_server;
using flanneld_alivpc::tcp;

namespace {

// The server on its own io_context thread; clients are blocking sockets in the test thread.
struct running_server {
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      io.get_executor()};
  std::unique_ptr<health_server> server;
  std::thread thread;

  explicit running_server(health_server::limits l) {
    server = std::make_unique<health_server>(
        io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
        health_server::handlers{[] {
                                  return std::pair<bool, std::string>{true, ""};
                                },
                                [] { return std::string("m 1\n"); }},
        l);
    thread = std::thread([this] { io.run(); });
  }
  ~running_server() {
    boost::asio::post(io, [this] { server->close(); });
    work.reset();
    io.stop();
    thread.join();
  }
  unsigned short port() const { return server->local_endpoint().port(); }
};

struct client {
  boost::asio::io_context io;
  tcp::socket s{io};
  explicit client(unsigned short port) {
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    // Never hang the test: a read gives up after 20 s.
    timeval tv{20, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  // Everything until the server closes (or the 20 s guard).
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      auto n = s.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) return out;
    }
  }
  std::string get(const std::string& target) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(req), ec);
    return read_all();
  }
};

}  // namespace

TEST(HealthServer, ClosesAnIdleConnectionAfterTheReadTimeout) {
  running_server srv({.max_connections = 32, .read_timeout = 500ms});
  client idle(srv.port());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(idle.read_all(), "");  // closed by the server, not by our 20 s guard
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 15s);
}

TEST(HealthServer, ConnectionsBeyondTheCapAreClosedAndHealthzAnswersAfterwards) {
  running_server srv({.max_connections = 4, .read_timeout = 1500ms});
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 4; ++i)
    idle.push_back(std::make_unique<client>(srv.port()));
  // Let the server accept the four before the fifth arrives.
  for (int i = 0; i < 200 && srv.server->open_connections() < 4; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(srv.server->open_connections(), 4u);
  client extra(srv.port());
  EXPECT_EQ(extra.get("/healthz"), "");  // closed at once: no answer
  EXPECT_GE(srv.server->refused_connections(), 1u);
  // The idle ones time out; then /healthz answers again.
  for (auto& c : idle)
    EXPECT_EQ(c->read_all(), "");
  for (int i = 0; i < 200 && srv.server->open_connections() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  client fresh(srv.port());
  auto answer = fresh.get("/healthz");
  EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
  EXPECT_NE(answer.find("ok\n"), std::string::npos) << answer;
}
