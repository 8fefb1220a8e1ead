// --ip-masq: the iptables rules flanneld installs (chain FLANNEL-POSTRTG in the nat table, jumped
// to from POSTROUTING), applied with the `iptables` command. Idempotent: each rule is checked
// with -C before it is appended, so a restart adds nothing twice.
#pragma once

#include <algorithm>

#include <alivpc/net/ipv4.hpp>

#include <fcntl.h>
#include <sys/wait.h>

#include <cerrno>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace flanneld_alivpc {

using rule = std::vector<std::string>;  // arguments after "-t nat -A|-C <chain>"

struct masq_rule {
  std::string chain;
  rule args;
};

inline std::vector<masq_rule> masq_rules(const alivpc::net::ipv4_cidr& network,
                                         const alivpc::net::ipv4_cidr& subnet) {
  const std::string n = network.to_string(), s = subnet.to_string();
  const std::string chain = "FLANNEL-POSTRTG";
  auto c = [](rule r) {
    r.insert(r.end(), {"-m", "comment", "--comment", "flanneld masq"});
    return r;
  };
  return {
      {"POSTROUTING", c({"-j", chain})},
      // Traffic marked by kube-proxy for masquerade is left to kube-proxy (no double NAT).
      {chain, c({"-m", "mark", "--mark", "0x4000/0x4000", "-j", "RETURN"})},
      // No NAT inside the flannel network.
      {chain, c({"-s", s, "-d", n, "-j", "RETURN"})},
      {chain, c({"-s", n, "-d", s, "-j", "RETURN"})},
      // External traffic arriving for our pods keeps its source.
      {chain, c({"!", "-s", n, "-d", s, "-j", "RETURN"})},
      // Pods talking to the outside world (not multicast) are masqueraded.
      {chain, c({"-s", n, "!", "-d", "224.0.0.0/4", "-j", "MASQUERADE", "--random-fully"})},
      // The host talking to pods elsewhere is masqueraded.
      {chain, c({"!", "-s", n, "-d", n, "-j", "MASQUERADE", "--random-fully"})},
  };
}

// Runs a program without a shell; returns its exit status (127 when it cannot run).
inline int run_program(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

inline bool iptables_available() {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    if (::access((std::string(dir) + "iptables").c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Removes the rules that name `subnet` (after the lease moved to another subnet); the rules for
// the whole Network stay. Returns an empty string on success, else what failed.
inline std::string remove_masq_rules(const alivpc::net::ipv4_cidr& network,
                                     const alivpc::net::ipv4_cidr& subnet) {
  const std::string s = subnet.to_string();
  for (auto& r : masq_rules(network, subnet)) {
    if (std::find(r.args.begin(), r.args.end(), s) == r.args.end()) continue;
    for (int guard = 0; guard < 16; ++guard) {  // a rule added twice by hand goes too
      rule check{"iptables", "-w", "-t", "nat", "-C", r.chain};
      check.insert(check.end(), r.args.begin(), r.args.end());
      if (run_program(check) != 0) break;
      rule del{"iptables", "-w", "-t", "nat", "-D", r.chain};
      del.insert(del.end(), r.args.begin(), r.args.end());
      if (int rc = run_program(del); rc != 0)
        return "iptables -D " + r.chain + " for " + s + " exited with " + std::to_string(rc);
    }
  }
  return {};
}

// Returns an empty string on success, else what failed.
inline std::string apply_masq_rules(const alivpc::net::ipv4_cidr& network,
                                    const alivpc::net::ipv4_cidr& subnet) {
  run_program({"iptables", "-w", "-t", "nat", "-N", "FLANNEL-POSTRTG"});  // exists: fine
  for (auto& r : masq_rules(network, subnet)) {
    rule check{"iptables", "-w", "-t", "nat", "-C", r.chain};
    check.insert(check.end(), r.args.begin(), r.args.end());
    if (run_program(check) == 0) continue;
    rule add{"iptables", "-w", "-t", "nat", "-A", r.chain};
    add.insert(add.end(), r.args.begin(), r.args.end());
    if (int rc = run_program(add); rc != 0) {
      std::string cmd;
      for (auto& a : add)
        cmd += (cmd.empty() ? "" : " ") + a;
      return "\"" + cmd + "\" exited with " + std::to_string(rc);
    }
  }
  return {};
}

}  // namespace flanneld_alivpc
