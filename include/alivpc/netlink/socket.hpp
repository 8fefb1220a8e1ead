// netlink::route_socket: a raw NETLINK_ROUTE socket. Requests carry increasing sequence numbers;
// replies are matched by sequence and by the sender being the kernel; multi-part dumps are read
// until NLMSG_DONE (and restarted if the kernel flags them interrupted); NLMSG_ERROR becomes a
// netlink_error holding the errno as std::error_code plus the kernel's extended-ack text.
// netlink::change_subscription listens to RTMGRP_LINK | RTMGRP_IPV4_IFADDR notifications.
// Neither is thread-safe: use one per thread, or guard it.
#pragma once

#include <alivpc/netlink/messages.hpp>
#include <alivpc/netlink/netlink_error.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace alivpc::netlink {

class route_socket {
 public:
  // groups: RTMGRP_* multicast groups to join (0 for a request socket).
  explicit route_socket(std::uint32_t groups = 0,
                        std::chrono::milliseconds reply_timeout = std::chrono::seconds(5)) {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) throw netlink_error::from_errno(errno, "open NETLINK_ROUTE socket");
    int one = 1;
    // Best effort: older kernels lack extended acks; errors still work without them.
    ::setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(reply_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((reply_timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = groups;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      int e = errno;
      ::close(fd_);
      throw netlink_error::from_errno(
          e, "bind NETLINK_ROUTE socket to groups " + std::to_string(groups));
    }
  }
  route_socket(route_socket&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), sequence_(other.sequence_) {}
  route_socket& operator=(route_socket&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
      sequence_ = other.sequence_;
    }
    return *this;
  }
  route_socket(const route_socket&) = delete;
  route_socket& operator=(const route_socket&) = delete;
  ~route_socket() { close(); }

  int native_handle() const noexcept { return fd_; }

  // A dump: every decoded message up to NLMSG_DONE (the done marker itself is dropped).
  std::vector<decoded_message> dump(const message_builder& request, std::string_view operation) {
    for (int attempt = 0;; ++attempt) {
      bool interrupted = false;
      auto out = exchange(request, operation, reply_mode::dump, &interrupted);
      if (!interrupted) return out;
      // The table changed during the dump; the kernel asks us to start again.
      if (attempt == 4)
        throw netlink_error::from_errno(EBUSY,
                                        std::string(operation) + " (dump kept being interrupted)");
    }
  }

  // A change request sent with NLM_F_ACK: returns on the ack, throws netlink_error on an error.
  void request_ack(const message_builder& request, std::string_view operation) {
    exchange(request, operation, reply_mode::ack, nullptr);
  }

  // A request answered by exactly one message (e.g. RTM_GETROUTE for one address).
  decoded_message request_one(const message_builder& request, std::string_view operation) {
    auto out = exchange(request, operation, reply_mode::single, nullptr);
    return std::move(out.front());
  }

  // Sends raw bytes and returns the next datagram from the kernel, undecoded (for captures).
  std::vector<std::uint8_t> send_raw_and_receive(const std::vector<std::uint8_t>& bytes) {
    send(bytes, "send raw netlink request");
    std::vector<std::uint8_t> datagram;
    if (!receive(datagram, 0, "receive raw netlink reply")) datagram.clear();
    return datagram;
  }

  // Reads one pending datagram; false when none is waiting (flags MSG_DONTWAIT) or on timeout.
  // Throws netlink_error for other errors (ENOBUFS: notifications were lost).
  bool receive(std::vector<std::uint8_t>& datagram, int flags, std::string_view operation) {
    for (;;) {
      ssize_t size = ::recv(fd_, nullptr, 0, MSG_PEEK | MSG_TRUNC | flags);
      if (size < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        throw netlink_error::from_errno(errno, operation);
      }
      datagram.resize(static_cast<std::size_t>(size));
      sockaddr_nl from{};
      iovec iov{datagram.data(), datagram.size()};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t got = ::recvmsg(fd_, &msg, flags);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        throw netlink_error::from_errno(errno, operation);
      }
      datagram.resize(static_cast<std::size_t>(got));
      if (from.nl_pid != 0) continue;  // only the kernel may answer us
      return true;
    }
  }

 private:
  enum class reply_mode { dump, ack, single };

  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const std::vector<std::uint8_t>& bytes, std::string_view operation) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
      ssize_t n = ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                           sizeof kernel);
      if (n >= 0) return;
      if (errno != EINTR) throw netlink_error::from_errno(errno, "send " + std::string(operation));
    }
  }

  std::vector<decoded_message> exchange(const message_builder& request, std::string_view operation,
                                        reply_mode mode, bool* interrupted) {
    std::uint32_t seq = ++sequence_;
    send(request.finish(seq), operation);
    std::vector<decoded_message> out;
    std::vector<std::uint8_t> datagram;
    for (;;) {
      if (!receive(datagram, 0, operation))
        throw netlink_error::from_errno(ETIMEDOUT,
                                        std::string(operation) + " (no reply from the kernel)");
      for (const auto& raw : detail::split_messages(datagram)) {
        if (raw.sequence != seq) continue;  // a stale reply to an earlier, abandoned request
        if (interrupted && (raw.flags & NLM_F_DUMP_INTR)) *interrupted = true;
        auto decoded = decode_message(raw);
        if (auto* ack = std::get_if<kernel_ack>(&decoded)) {
          if (ack->error != 0) throw netlink_error::from_errno(ack->error, operation, ack->detail);
          if (mode == reply_mode::ack) return out;
          continue;
        }
        if (auto* done = std::get_if<done_marker>(&decoded)) {
          if (done->error != 0) throw netlink_error::from_errno(done->error, operation);
          if (mode == reply_mode::dump) return out;
          continue;
        }
        out.push_back(std::move(decoded));
        if (mode == reply_mode::single) return out;
      }
    }
  }

  int fd_ = -1;
  std::uint32_t sequence_ = 0;
};

// A change the kernel announced. overflow: the socket buffer overflowed and notifications
// were lost, so the listener must re-read the full state.
struct network_change {
  enum class kind { link_changed, link_removed, address_added, address_removed, overflow };
  kind what = kind::overflow;
  link_info link;        // for link_changed / link_removed
  address_info address;  // for address_added / address_removed
};

class change_subscription {
 public:
  change_subscription() : socket_(RTMGRP_LINK | RTMGRP_IPV4_IFADDR) {}

  // Readable when changes are pending (register it with an event loop, then call read_pending()).
  int native_handle() const noexcept { return socket_.native_handle(); }

  // Everything already queued, without blocking.
  std::vector<network_change> read_pending() {
    std::vector<network_change> out;
    std::vector<std::uint8_t> datagram;
    for (;;) {
      try {
        if (!socket_.receive(datagram, MSG_DONTWAIT, "read link/address notifications")) return out;
      } catch (const netlink_error& e) {
        if (e.code().value() != ENOBUFS) throw;
        out.push_back({network_change::kind::overflow, {}, {}});
        continue;
      }
      for (const auto& raw : detail::split_messages(datagram))
        append(out, decode_message(raw));
    }
  }

  // Waits up to timeout for the first change, then returns all that are queued.
  std::vector<network_change> wait(std::chrono::milliseconds timeout) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r < 0 && errno != EINTR)
      throw netlink_error::from_errno(errno, "poll for link/address notifications");
    return read_pending();
  }

 private:
  static void append(std::vector<network_change>& out, decoded_message&& m) {
    using k = network_change::kind;
    if (auto* l = std::get_if<link_info>(&m)) out.push_back({k::link_changed, *l, {}});
    if (auto* l = std::get_if<link_removed>(&m)) out.push_back({k::link_removed, l->link, {}});
    if (auto* a = std::get_if<address_info>(&m)) out.push_back({k::address_added, {}, *a});
    if (auto* a = std::get_if<address_removed>(&m))
      out.push_back({k::address_removed, {}, a->address});
  }
  route_socket socket_;
};

}  // namespace alivpc::netlink
