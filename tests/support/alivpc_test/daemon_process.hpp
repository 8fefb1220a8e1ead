// Runs a program (the flanneld_alivpc daemon, an example) as a child process for a test: fork +
// exec (no shell), stdout and stderr captured into one log file, stopped by its pid only.
//
//   alivpc_test::daemon_process d(binary, {"--etcd-endpoints=" + etcd.endpoint(), ...},
//                                 {.env = {{"ACCESS_KEY_ID", "testid"}}, .log_file = dir /
//                                 "n1.log"});
//   d.wait_for_log("ready: lease", 20s);     // true when the text showed up in time
//   d.peak_rss_kib();                         // VmHWM from /proc/<pid>/status while it runs
//   int rc = d.stop();                        // SIGTERM, SIGKILL after a grace period; exit code
//   d.kill9();                                // SIGKILL now
// The child inherits the test's environment minus ACCESS_KEY_* and FLANNELD_* (so that a
// developer's shell cannot change a test), plus `env`. With `netns` set (a name under
// /var/run/netns) the child joins that network namespace before exec, like `ip netns exec`.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace alivpc_test {

struct daemon_process_options {
  std::map<std::string, std::string> env;  // added to (or replacing in) the inherited environment
  std::filesystem::path log_file;          // stdout + stderr; required
  std::string netns;                       // join /var/run/netns/<netns> before exec
  bool keep_credentials_env = false;       // keep an inherited ACCESS_KEY_ID/SECRET
};

class daemon_process {
 public:
  daemon_process(std::string binary, std::vector<std::string> args, daemon_process_options o)
      : binary_(std::move(binary)), args_(std::move(args)), o_(std::move(o)) {
    if (o_.log_file.empty()) throw std::runtime_error("daemon_process: a log file is required");
    start();
  }
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;
  ~daemon_process() {
    if (running()) kill9();
  }

  pid_t pid() const noexcept { return pid_; }
  const std::filesystem::path& log_file() const noexcept { return o_.log_file; }
  const std::vector<std::string>& args() const noexcept { return args_; }

  // Starts it again with the same arguments (after stop() or kill9()); the log is appended to.
  void start() {
    if (pid_ > 0) throw std::runtime_error("daemon_process: already running");
    exit_code_.reset();
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      auto name = kv.substr(0, kv.find('='));
      if (name.rfind("FLANNELD_", 0) == 0) continue;
      if (!o_.keep_credentials_env && (name == "ACCESS_KEY_ID" || name == "ACCESS_KEY_SECRET"))
        continue;
      if (o_.env.count(name)) continue;
      env_strings.push_back(std::move(kv));
    }
    for (auto& [k, v] : o_.env)
      env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& s : env_strings)
      envp.push_back(s.data());
    envp.push_back(nullptr);
    argv.push_back(binary_.data());
    for (auto& a : args_)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = o_.log_file.string();
    const std::string ns = o_.netns.empty() ? std::string() : "/var/run/netns/" + o_.netns;

    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("daemon_process: fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls from here on.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan if the test process dies
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, 0);
      if (!ns.empty()) {
        int nfd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
        if (nfd < 0 || ::setns(nfd, CLONE_NEWNET) != 0) {
          const char msg[] = "daemon_process: cannot join the network namespace\n";
          (void)!::write(2, msg, sizeof msg - 1);
          ::_exit(125);
        }
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    pid_ = pid;
  }

  bool running() {
    poll_exit();
    return pid_ > 0;
  }

  // The exit code once it has exited: its status, or 128 + signal when a signal ended it.
  std::optional<int> exit_code() {
    poll_exit();
    return exit_code_;
  }

  // Waits up to `limit` for it to exit by itself; its exit code, or nullopt when still running.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return exit_code();
  }

  // SIGTERM, then SIGKILL after `grace`; returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(15)) {
    if (!running()) return exit_code_.value_or(-1);
    ::kill(pid_, SIGTERM);
    if (auto rc = wait_exit(grace)) return *rc;
    kill9();
    return exit_code_.value_or(-1);
  }

  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    record(status);
  }

  // Everything it has written so far.
  std::string log() const {
    std::ifstream in(o_.log_file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Polls the log until `text` appears (true), it exits or `limit` passes (false).
  bool wait_for_log(const std::string& text, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (log().find(text) != std::string::npos) return true;
      if (!running() || std::chrono::steady_clock::now() >= until)
        return log().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // How often `text` occurs in the log.
  std::size_t count_in_log(const std::string& text) const {
    auto all = log();
    std::size_t n = 0;
    for (auto p = all.find(text); p != std::string::npos; p = all.find(text, p + text.size()))
      ++n;
    return n;
  }

  // A field of /proc/<pid>/status in KiB (VmHWM: peak resident set, VmRSS: current); 0 when
  // not running or absent.
  long proc_status_kib(const std::string& field) const {
    if (pid_ <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(field + ":", 0) != 0) continue;
      std::istringstream ss(line.substr(field.size() + 1));
      long kib = 0;
      ss >> kib;
      return kib;
    }
    return 0;
  }
  long peak_rss_kib() const { return proc_status_kib("VmHWM"); }

 private:
  void poll_exit() {
    if (pid_ <= 0) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) record(status);
  }
  void record(int status) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }

  std::string binary_;
  std::vector<std::string> args_;
  daemon_process_options o_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace alivpc_test
