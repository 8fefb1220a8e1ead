// The test thread in a network namespace of its own (unshare(CLONE_NEWNET)); threads and
// processes it starts afterwards inherit it. The original namespace comes back when this ends;
// if it cannot, the process aborts rather than run later tests inside a test namespace.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace alivpc_test {

class own_net_namespace {
 public:
  own_net_namespace() = default;
  own_net_namespace(const own_net_namespace&) = delete;
  own_net_namespace& operator=(const own_net_namespace&) = delete;
  ~own_net_namespace() {
    if (entered_ && ::setns(original_, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "cannot return to the original network namespace: %s\n",
                   std::strerror(errno));
      std::abort();
    }
    if (original_ >= 0) ::close(original_);
  }

  // Enters a fresh namespace: "" when done, else what failed.
  std::string enter() {
    original_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original_ < 0) return std::string("open /proc/self/ns/net: ") + std::strerror(errno);
    if (::unshare(CLONE_NEWNET) != 0)
      return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    entered_ = true;
    return {};
  }

 private:
  int original_ = -1;
  bool entered_ = false;
};

}  // namespace alivpc_test
