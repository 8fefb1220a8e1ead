// Starts alivpc-emulator as a child process on 127.0.0.1 port 0 and reads the address it prints.
//
//   alivpc_test::emulator_process emu({"--instance", "i-1", "--write-delay", "0"});
//   emu.url();   // "http://127.0.0.1:41234" (https://... with --tls-cert/--tls-key)
//   emu.port();  emu.host();  emu.metadata_base("i-1");  // ".../metadata/i-1/latest/meta-data/"
//   emu.log();   // everything it wrote to stderr so far
// The destructor sends SIGTERM and waits (SIGKILL after 5 s). "--listen 127.0.0.1:0" is added
// unless the arguments contain --listen. The binary is ALIVPC_BINARY_DIR/sim/alivpc-emulator.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace alivpc_test {

class emulator_process {
 public:
  static std::string default_binary() {
#ifdef ALIVPC_BINARY_DIR
    return std::string(ALIVPC_BINARY_DIR) + "/sim/alivpc-emulator";
#else
    return "alivpc-emulator";
#endif
  }

  explicit emulator_process(std::vector<std::string> args = {},
                            std::string binary = default_binary()) {
    bool has_listen = false;
    for (const auto& a : args)
      has_listen |= a == "--listen";
    if (!has_listen) args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
    char log_template[] = "/tmp/alivpc-emulator-log-XXXXXX";
    int log_fd = ::mkstemp(log_template);
    if (log_fd < 0) throw std::runtime_error("emulator_process: mkstemp failed");
    log_path_ = log_template;
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("emulator_process: pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("emulator_process: fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(log_fd, 2);
      ::close(out[0]);
      ::close(out[1]);
      ::close(log_fd);
      std::vector<char*> argv;
      argv.push_back(binary.data());
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      std::_Exit(127);
    }
    ::close(out[1]);
    ::close(log_fd);
    stdout_fd_ = out[0];
    std::string line = read_first_line(std::chrono::seconds(30));
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) {
      stop();
      throw std::runtime_error("alivpc-emulator did not start (first line \"" + line +
                               "\"); log:\n" + log());
    }
    url_ = line.substr(prefix.size());
    auto colon = url_.rfind(':');
    port_ = static_cast<unsigned short>(std::stoi(url_.substr(colon + 1)));
    auto scheme_end = url_.find("://") + 3;
    host_ = url_.substr(scheme_end, colon - scheme_end);
  }
  emulator_process(const emulator_process&) = delete;
  emulator_process& operator=(const emulator_process&) = delete;
  ~emulator_process() {
    stop();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    if (!log_path_.empty()) ::unlink(log_path_.c_str());
  }

  const std::string& url() const noexcept {
    return url_;
  }
  const std::string& host() const noexcept {
    return host_;
  }
  unsigned short port() const noexcept {
    return port_;
  }
  bool tls() const {
    return url_.rfind("https://", 0) == 0;
  }
  pid_t pid() const noexcept {
    return pid_;
  }
  std::string metadata_base(const std::string& instance_id) const {
    return url_ + "/metadata/" + instance_id + "/latest/meta-data/";
  }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // SIGTERM, then wait; returns the exit status (or -signal), -1 when already stopped.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  std::string read_first_line(std::chrono::seconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      auto n = ::read(stdout_fd_, &c, 1);
      if (n <= 0) break;
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string log_path_;
  std::string url_, host_;
  unsigned short port_ = 0;
};

}  // namespace alivpc_test
