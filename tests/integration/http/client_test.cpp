// GCC 12 warns about designated initializers that leave members at their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "test_server.hpp"

#include <alivpc/http/client.hpp>
#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>
#include <alivpc_test/net_namespace.hpp>
#include <alivpc_test/run_task.hpp>
#include <alivpc_test/temp_dir.hpp>
#include <alivpc_test/tls_certs.hpp>

#include <gtest/gtest.h>

#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

using namespace alivpc;
using alivpc_test::run_task;
using alivpc_test::seen_request;
using alivpc_test::server_reply;
using alivpc_test::test_server;

namespace {

http::url local(unsigned short port, const char* scheme = "http") {
  return http::url::parse(std::string(scheme) + "://127.0.0.1:" + std::to_string(port));
}

server_reply echo(const seen_request& r) {
  return {.body = r.method + " " + r.target + " " + r.body};
}

std::shared_ptr<boost::asio::ssl::context> server_tls(const alivpc_test::tls_certs& c) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  ctx->use_certificate_chain_file(c.server_cert);
  ctx->use_private_key_file(c.server_key, boost::asio::ssl::context::pem);
  return ctx;
}

// Loopback up or down in the calling thread's network namespace.
bool set_loopback(bool up) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    if (up)
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    else
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
    ok = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  ::close(fd);
  return ok;
}

}  // namespace

// Tests that take a link down under a live connection, in a network namespace of their own.
class HttpClientInNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "not root: a network namespace needs CAP_SYS_ADMIN (CI runs as root)";
    ASSERT_EQ(namespace_.enter(), "");
    ASSERT_TRUE(set_loopback(true)) << std::strerror(errno);
  }
  alivpc_test::own_net_namespace namespace_;
};

// A peer that vanishes without a word (a dead host, a cut link: no FIN, no RST) must not hold a
// long poll for its whole bound: an etcd watch waits up to 30 minutes for a change. Loopback
// taken down once the request arrived drops every packet from then on, keepalive probes too.
TEST_F(HttpClientInNamespace, KeepaliveEndsAStreamWhosePeerVanishedSilently) {
  std::atomic<bool> cut{false};
  test_server server([&](const seen_request&) {
    cut = set_loopback(false);
    return server_reply{.never_answer = true};
  });
  boost::asio::io_context io;
  http::client c(
      io, local(server.port()),
      {.request_timeout = std::chrono::minutes(5),
       .keepalive = {
           .idle = std::chrono::seconds(1), .interval = std::chrono::seconds(1), .count = 2}});
  try {
    // Without keepalive this silence lasts the whole minute and ends normally, as a long poll
    // that saw no change does.
    auto status = run_task(io, c.stream({.method = "POST", .target = "/v3/watch"},
                                        [](std::string_view) { return true; },
                                        {.max_duration = std::chrono::minutes(1)}));
    ADD_FAILURE() << "the stream outlived its vanished peer (status " << status << ")";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::transient);
    const std::string m = e.what();
    EXPECT_NE(m.find("POST /v3/watch"), std::string::npos) << m;
    EXPECT_NE(m.find("reading the response header"), std::string::npos) << m;
  }
  EXPECT_TRUE(cut) << "loopback was not taken down";
  ASSERT_TRUE(set_loopback(true));  // the server's shutdown connects to itself
}

TEST(HttpClient, SendsAndReadsAPlainRequest) {
  test_server server(echo);
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  auto r = run_task(io, c.send({.method = "POST", .target = "/v3/kv/range", .body = "{\"k\":1}"}));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "POST /v3/kv/range {\"k\":1}");
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
}

TEST(HttpClient, ReportsStatusCodesWithoutThrowing) {
  test_server server(
      [](const seen_request&) { return server_reply{.status = 404, .body = "nope"}; });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  auto r = run_task(io, c.send({.target = "/x"}));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.body, "nope");
}

TEST(HttpClient, ReusesTheKeepAliveConnection) {
  test_server server(echo);
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  for (int i = 0; i < 5; ++i)
    run_task(io, c.send({.target = "/n/" + std::to_string(i)}));
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(c.connections_opened(), 1u);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 5u);
  for (auto& s : seen)
    EXPECT_EQ(s.connection, 1);
}

TEST(HttpClient, ReconnectsWhenTheServerClosedTheConnection) {
  test_server server(
      [](const seen_request&) { return server_reply{.body = "x", .keep_alive = false}; });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(run_task(io, c.send({})).body, "x");
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpClient, SendsBasicAuthHeader) {
  test_server server(echo);
  boost::asio::io_context io;
  http::client c(io, local(server.port()),
                 {.basic_auth = std::pair{std::string("root"), std::string("s3cret")}});
  run_task(io, c.send({}));
  ASSERT_EQ(server.requests().size(), 1u);
  // base64("root:s3cret")
  EXPECT_EQ(server.requests()[0].authorization, "Basic cm9vdDpzM2NyZXQ=");
}

TEST(HttpClient, TimesOutOnAServerThatNeverAnswers) {
  test_server server([](const seen_request&) { return server_reply{.never_answer = true}; });
  boost::asio::io_context io;
  http::client c(io, local(server.port()), {.request_timeout = std::chrono::milliseconds(200)});
  try {
    run_task(io, c.send({.method = "POST", .target = "/v3/kv/range?secret=1"}));
    FAIL() << "expected a timeout";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::transient);
    std::string m = e.what();
    EXPECT_NE(m.find("timed out"), std::string::npos) << m;
    EXPECT_NE(m.find("POST /v3/kv/range"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << m;
    EXPECT_EQ(m.find("secret"), std::string::npos) << m;
  }
}

TEST(HttpClient, ConnectionRefusedIsTransientAndNamesTheEndpoint) {
  unsigned short port;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  boost::asio::io_context io;
  http::client c(io, local(port));
  try {
    run_task(io, c.send({.target = "/health"}));
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::transient);
    EXPECT_NE(std::string(e.what()).find("GET /health on http://127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << e.what();
  }
}

TEST(HttpClient, StreamsPiecesAsTheyArrive) {
  test_server server([](const seen_request&) {
    return server_reply{.chunks = {"{\"a\":", "1}\n{\"b\"", ":2}\n"},
                        .chunk_gap = std::chrono::milliseconds(20)};
  });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  std::vector<std::string> pieces;
  unsigned head_status = 0;
  auto status = run_task(
      io, c.stream({.method = "POST", .target = "/v3/watch"},
                   [&](std::string_view p) {
                     pieces.emplace_back(p);
                     return true;
                   },
                   {.on_headers = [&](const http::response& h) { head_status = h.status; }}));
  EXPECT_EQ(status, 200u);
  EXPECT_EQ(head_status, 200u);
  std::string all;
  for (auto& p : pieces)
    all += p;
  EXPECT_EQ(all, "{\"a\":1}\n{\"b\":2}\n");
  EXPECT_GE(pieces.size(), 2u);  // the gaps make the pieces arrive separately
}

TEST(HttpClient, StreamStopsWhenTheCallbackSaysSo) {
  test_server server([](const seen_request&) {
    return server_reply{.chunks = {"one", "two", "three"},
                        .chunk_gap = std::chrono::milliseconds(30)};
  });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  std::string got;
  run_task(io, c.stream({}, [&](std::string_view p) {
    got += p;
    return false;
  }));
  EXPECT_EQ(got, "one");
}

TEST(HttpClient, StreamMaxDurationEndsALongPollNormally) {
  test_server server([](const seen_request&) {
    return server_reply{.chunks = {"a", "b"}, .chunk_gap = std::chrono::milliseconds(800)};
  });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  std::string got;
  auto status = run_task(io, c.stream({},
                                      [&](std::string_view p) {
                                        got += p;
                                        return true;
                                      },
                                      {.max_duration = std::chrono::milliseconds(150)}));
  EXPECT_EQ(status, 200u);
  EXPECT_EQ(got, "");
}

TEST(HttpClient, StreamIdleTimeoutThrows) {
  test_server server([](const seen_request&) {
    return server_reply{.chunks = {"a", "b"}, .chunk_gap = std::chrono::milliseconds(800)};
  });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  EXPECT_THROW(run_task(io, c.stream({}, [](std::string_view) { return true; },
                                     {.idle_timeout = std::chrono::milliseconds(150)})),
               error);
}

class HttpsClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new alivpc_test::temp_dir("alivpc-http-tls");
    certs_ = new alivpc_test::tls_certs(alivpc_test::tls_certs::make(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete dir_;
  }
  static inline alivpc_test::temp_dir* dir_ = nullptr;
  static inline alivpc_test::tls_certs* certs_ = nullptr;
};

TEST_F(HttpsClient, VerifiesTheServerAgainstTheGivenCa) {
  test_server server(echo, server_tls(*certs_));
  boost::asio::io_context io;
  http::client c(io, local(server.port(), "https"), {.tls = {.ca_file = certs_->ca_cert}});
  auto r = run_task(io, c.send({.target = "/v2/keys"}));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "GET /v2/keys ");
  run_task(io, c.send({.target = "/again"}));
  EXPECT_EQ(server.connections(), 1);  // keep-alive over TLS too
}

TEST_F(HttpsClient, RefusesAServerSignedByAnotherCa) {
  test_server server(echo, server_tls(*certs_));
  boost::asio::io_context io;
  http::client c(io, local(server.port(), "https"), {.tls = {.ca_file = certs_->other_ca_cert}});
  try {
    run_task(io, c.send({}));
    FAIL() << "a server signed by an unknown CA was accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::permanent) << e.what();
    EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HttpsClient, RefusesAWrongHostName) {
  test_server server(echo, server_tls(*certs_));
  boost::asio::io_context io;
  http::client c(io, local(server.port(), "https"),
                 {.tls = {.ca_file = certs_->ca_cert, .server_name = "etcd.example.com"}});
  EXPECT_THROW(run_task(io, c.send({})), error);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HttpsClient, VerificationOffAcceptsAnyCertificate) {
  test_server server(echo, server_tls(*certs_));
  boost::asio::io_context io;
  http::client c(io, local(server.port(), "https"), {.tls = {.verify_peer = false}});
  EXPECT_EQ(run_task(io, c.send({})).status, 200u);
}

TEST_F(HttpsClient, PresentsAClientCertificateWhenTheServerAsks) {
  auto ctx = server_tls(*certs_);
  ctx->load_verify_file(certs_->ca_cert);
  ctx->set_verify_mode(boost::asio::ssl::verify_peer |
                       boost::asio::ssl::verify_fail_if_no_peer_cert);
  test_server server(echo, ctx);
  boost::asio::io_context io;
  http::client with(io, local(server.port(), "https"),
                    {.tls = {.ca_file = certs_->ca_cert,
                             .cert_file = certs_->client_cert,
                             .key_file = certs_->client_key}});
  EXPECT_EQ(run_task(io, with.send({})).status, 200u);
  http::client without(io, local(server.port(), "https"), {.tls = {.ca_file = certs_->ca_cert}});
  EXPECT_THROW(run_task(io, without.send({})), error);
}

TEST(EndpointPool, FailsOverToTheNextEndpoint) {
  unsigned short dead;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    dead = a.local_endpoint().port();
  }
  test_server server(echo);
  boost::asio::io_context io;
  asio_scheduler sched(io, 7);
  http::endpoint_pool pool(io, {local(dead), local(server.port())});
  auto r = run_task(
      io, pool.with_failover(sched, [](http::client& c) { return c.send({.target = "/ok"}); }));
  EXPECT_EQ(r.body, "GET /ok ");
  EXPECT_EQ(pool.current().endpoint().port, server.port());
}

TEST(EndpointPool, GivesUpAfterTheDeadlineNamingEveryEndpoint) {
  unsigned short dead;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    dead = a.local_endpoint().port();
  }
  boost::asio::io_context io;
  asio_scheduler sched(io, 7);
  http::endpoint_pool pool(io, {local(dead)}, {},
                           {.initial = std::chrono::milliseconds(10),
                            .max = std::chrono::milliseconds(40),
                            .give_up_after = std::chrono::milliseconds(300)});
  try {
    run_task(io, pool.with_failover(sched, [](http::client& c) { return c.send({}); }));
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.kind(), error_kind::transient);
    EXPECT_NE(std::string(e.what()).find("gave up after"), std::string::npos) << e.what();
  }
}

TEST(HttpClient, StreamsAPlainContentLengthBody) {
  test_server server([](const seen_request&) {
    return server_reply{.status = 400, .body = "{\"errorCode\":401}"};
  });
  boost::asio::io_context io;
  http::client c(io, local(server.port()));
  std::string got;
  auto status = run_task(io, c.stream({}, [&](std::string_view p) {
    got += p;
    return true;
  }));
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(got, "{\"errorCode\":401}");
}

// Issue 11: a refused or hung endpoint is said at once (warning), naming it, and the pool says
// where it goes next; repeated failures of one endpoint are rate-limited.
TEST(EndpointPool, SaysWhenAnEndpointFailsAndWhereItMovesOn) {
  unsigned short dead;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    dead = a.local_endpoint().port();
  }
  test_server hung([](const seen_request&) { return server_reply{.never_answer = true}; });
  test_server server(echo);
  std::vector<std::pair<log_level, std::string>> lines;
  http::client_options o;
  o.request_timeout = std::chrono::milliseconds(300);
  o.log = logger([&](log_level l, std::string_view, std::string_view m) {
    lines.emplace_back(l, std::string(m));
  });
  boost::asio::io_context io;
  asio_scheduler sched(io, 7);
  http::endpoint_pool pool(io, {local(dead), local(hung.port()), local(server.port())}, o);
  auto op = [](http::client& c) { return c.send({.target = "/ok"}); };
  EXPECT_EQ(run_task(io, pool.with_failover(sched, op)).body, "GET /ok ");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].first, log_level::warning);
  EXPECT_NE(lines[0].second.find(local(dead).to_string()), std::string::npos) << lines[0].second;
  EXPECT_NE(lines[0].second.find("refused"), std::string::npos) << lines[0].second;
  EXPECT_NE(lines[0].second.find("trying " + local(hung.port()).to_string()), std::string::npos)
      << lines[0].second;
  EXPECT_EQ(lines[1].first, log_level::warning);
  EXPECT_NE(lines[1].second.find("timed out"), std::string::npos) << lines[1].second;
  // Failing again at once: not said again (rate limit), but counted for the next line.
  http::endpoint_pool only_dead(io, {local(dead)}, o,
                                {.initial = std::chrono::milliseconds(1),
                                 .max = std::chrono::milliseconds(5),
                                 .give_up_after = std::chrono::milliseconds(200)});
  lines.clear();
  EXPECT_THROW(run_task(io, only_dead.with_failover(sched, op)), error);
  EXPECT_EQ(lines.size(), 1u);
}
