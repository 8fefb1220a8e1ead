// A throwaway etcd server for tests: the real `etcd` binary on free loopback ports with its data
// in a temp dir, stopped by its pid. Restartable on the same data dir; optionally HTTPS with a
// test-made CA. `etcdctl` helpers run the real CLI against it (v2 and v3).
#pragma once

#include <utility>

#include "temp_dir.hpp"
#include "tls_certs.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

extern char** environ;

namespace alivpc_test {

struct etcd_process_options {
  const tls_certs* tls = nullptr;  // serve HTTPS with this PKI's server certificate
  bool client_cert_auth = false;   // with tls: require a client certificate signed by the CA
  bool enable_v2 = true;           // false: etcd 3.4's default, no v2 keys API (404 as text)
};

class etcd_process {
 public:
  static bool available() { return std::system("command -v etcd >/dev/null 2>&1") == 0; }

  // Ports are picked free, then bound by etcd: another process may take one in between (seen
  // on a busy CI machine), so a start that fails on a port in use is retried with new ones.
  explicit etcd_process(etcd_process_options opts = {}) : opts_(opts), dir_("alivpc-etcd") {
    for (int attempt = 1;; ++attempt) {
      std::tie(client_port_, peer_port_) = two_free_ports();
      try {
        start();
        return;
      } catch (const std::runtime_error&) {
        if (attempt == 3 || !log_says_port_taken()) throw;
        std::filesystem::remove_all(data_dir());
      }
    }
  }
  etcd_process(const etcd_process&) = delete;
  etcd_process& operator=(const etcd_process&) = delete;
  ~etcd_process() { stop(); }

  std::string endpoint() const {
    return std::string(opts_.tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(client_port_);
  }
  unsigned short client_port() const { return client_port_; }
  pid_t pid() const { return pid_; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  std::filesystem::path log_file() const { return dir_.path() / "etcd.log"; }
  bool running() const { return pid_ > 0; }

  void start() {
    if (pid_ > 0) return;
    const std::string scheme = opts_.tls ? "https" : "http";
    const std::string client = scheme + "://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {"etcd",
                                     "--name",
                                     "t",
                                     "--data-dir",
                                     data_dir().string(),
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     "t=" + peer,
                                     opts_.enable_v2 ? "--enable-v2=true" : "--enable-v2=false",
                                     "--log-level",
                                     "warn"};
    if (opts_.tls) {
      args.insert(args.end(),
                  {"--cert-file", opts_.tls->server_cert, "--key-file", opts_.tls->server_key});
      if (opts_.client_cert_auth)
        args.insert(args.end(), {"--client-cert-auth", "--trusted-ca-file", opts_.tls->ca_cert});
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = log_file().string();
    // fork + exec (not a shell) so that pid_ is etcd itself; PDEATHSIG stops etcd if the test
    // process dies without running its destructors.
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("cannot fork for etcd");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execvp("etcd", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    wait_healthy(std::chrono::seconds(20));
  }

  // SIGTERM, then SIGKILL after 5 s; only our own child, by its pid.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void restart() {
    stop();
    start();
  }

  // Runs etcdctl against this server; returns its stdout; throws with stderr on failure.
  std::string etcdctl(const std::string& args, int api = 3) const {
    std::string tls;
    if (opts_.tls) {
      tls = api == 2 ? " --ca-file '" + opts_.tls->ca_cert + "'"
                     : " --cacert '" + opts_.tls->ca_cert + "'";
      if (opts_.client_cert_auth)
        tls += api == 2 ? " --cert-file '" + opts_.tls->client_cert + "' --key-file '" +
                              opts_.tls->client_key + "'"
                        : " --cert '" + opts_.tls->client_cert + "' --key '" +
                              opts_.tls->client_key + "'";
    }
    const std::string err = (dir_.path() / "etcdctl.err").string();
    std::string cmd = "ETCDCTL_API=" + std::to_string(api) + " etcdctl --endpoints " + endpoint() +
                      tls + " " + args + " 2>'" + err + "'";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed for etcdctl");
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
      out.append(buf, n);
    int status = ::pclose(p);
    if (status != 0) {
      std::ifstream f(err);
      std::stringstream ss;
      ss << f.rdbuf();
      throw std::runtime_error("etcdctl " + args + " failed: " + ss.str());
    }
    return out;
  }

  // Shell-quotes one argument for etcdctl().
  static std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s)
      out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }

  // GET path on the server with a blocking client (for readiness and small checks).
  std::optional<std::string> get(const std::string& path) const {
    namespace beast = boost::beast;
    namespace asio = boost::asio;
    try {
      asio::io_context io;
      asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), client_port_);
      beast::http::request<beast::http::empty_body> req{beast::http::verb::get, path, 11};
      req.set(beast::http::field::host, "127.0.0.1");
      beast::http::response<beast::http::string_body> res;
      beast::flat_buffer buf;
      if (opts_.tls) {
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        ctx.load_verify_file(opts_.tls->ca_cert);
        if (opts_.client_cert_auth) {
          ctx.use_certificate_chain_file(opts_.tls->client_cert);
          ctx.use_private_key_file(opts_.tls->client_key, asio::ssl::context::pem);
        }
        beast::ssl_stream<beast::tcp_stream> s(io, ctx);
        s.next_layer().connect(ep);
        s.handshake(asio::ssl::stream_base::client);
        beast::http::write(s, req);
        beast::http::read(s, buf, res);
      } else {
        beast::tcp_stream s(io);
        s.connect(ep);
        beast::http::write(s, req);
        beast::http::read(s, buf, res);
      }
      return res.body();
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

 private:
  // Two different free ports (both held while picking, so never the same one twice).
  static std::pair<unsigned short, unsigned short> two_free_ports() {
    boost::asio::io_context io;
    const auto loopback = boost::asio::ip::make_address("127.0.0.1");
    boost::asio::ip::tcp::acceptor a(io, {loopback, 0}), b(io, {loopback, 0});
    return {a.local_endpoint().port(), b.local_endpoint().port()};
  }
  bool log_says_port_taken() const {
    std::ifstream in(log_file());
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find("address already in use") != std::string::npos;
  }

  void wait_healthy(std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("etcd exited at start; see " + log_file().string());
      }
      auto body = get("/health");
      if (body && body->find("\"health\":\"true\"") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    throw std::runtime_error("etcd did not become healthy; see " + log_file().string());
  }

  etcd_process_options opts_;
  temp_dir dir_;
  unsigned short client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace alivpc_test
