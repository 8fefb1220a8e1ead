// flannel's subnet file (/run/flannel/subnet.env), read by the flannel CNI plugin:
//   FLANNEL_NETWORK=10.24.0.0/16
//   FLANNEL_SUBNET=10.24.5.1/24
//   FLANNEL_MTU=1500
//   FLANNEL_IPMASQ=false
// Written atomically (an exclusive, unpredictably named temp file in the same directory, fsync,
// rename, fsync of the directory) so that a reader never sees half a file; read back at start to
// prefer the previous subnet.
#pragma once

#include <alivpc/detail/strings.hpp>
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace alivpc::lease {

struct subnet_file {
  net::ipv4_cidr network;
  net::ipv4_cidr subnet;  // the lease; the file shows its first address + 1
  std::uint32_t mtu = 0;
  bool ip_masq = false;
  friend bool operator==(const subnet_file&, const subnet_file&) = default;
};

inline std::string format_subnet_file(const subnet_file& f) {
  net::ipv4_address gateway(f.subnet.network().value() + 1);
  std::string out;
  out += "FLANNEL_NETWORK=" + f.network.to_string() + "\n";
  out += "FLANNEL_SUBNET=" + gateway.to_string() + "/" + std::to_string(f.subnet.prefix_length()) +
         "\n";
  out += "FLANNEL_MTU=" + std::to_string(f.mtu) + "\n";
  out += std::string("FLANNEL_IPMASQ=") + (f.ip_masq ? "true" : "false") + "\n";
  return out;
}

// Parses the four keys (others, e.g. FLANNEL_IPV6_*, are ignored). Errors name the line.
inline subnet_file parse_subnet_file(std::string_view text,
                                     std::string_view origin = "subnet file") {
  subnet_file f;
  bool have_network = false, have_subnet = false, have_mtu = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    auto where = std::string(origin) + " line " + std::to_string(line_no);
    if (eq == std::string_view::npos)
      fail(error_kind::parse,
           where + ": expected KEY=VALUE, got \"" + std::string(line.substr(0, 100)) + "\"");
    auto key = line.substr(0, eq);
    auto value = std::string(line.substr(eq + 1));
    try {
      if (key == "FLANNEL_NETWORK") {
        f.network = net::ipv4_cidr::parse(value);
        have_network = true;
      } else if (key == "FLANNEL_SUBNET") {
        f.subnet = net::ipv4_cidr::parse(value, {.allow_host_bits = true});
        // The file shows the lease's first address + 1, which a /32 does not have: such a file
        // would read back as a different lease.
        if (f.subnet.prefix_length() > 31)
          fail(error_kind::parse, "\"" + value + "\": a /32 has no room for the gateway address");
        have_subnet = true;
      } else if (key == "FLANNEL_MTU") {
        if (value.empty() || value.size() > 6 ||
            value.find_first_not_of("0123456789") != std::string::npos)
          fail(error_kind::parse, "expected a number");
        f.mtu = static_cast<std::uint32_t>(std::stoul(value));
        have_mtu = true;
      } else if (key == "FLANNEL_IPMASQ") {
        if (value != "true" && value != "false") fail(error_kind::parse, "expected true or false");
        f.ip_masq = value == "true";
      }
    } catch (const error& e) {
      fail(error_kind::parse, where + ": " + std::string(key) + ": " + e.what());
    }
  }
  if (!have_network || !have_subnet || !have_mtu)
    fail(error_kind::parse, std::string(origin) + ": missing " +
                                (!have_network  ? "FLANNEL_NETWORK"
                                 : !have_subnet ? "FLANNEL_SUBNET"
                                                : "FLANNEL_MTU"));
  return f;
}

namespace detail {

[[noreturn]] inline void subnet_file_error(const std::filesystem::path& path,
                                           const std::string& step, int err) {
  fail(error_kind::io, "subnet file " + path.string() + ": " + step + ": " + std::strerror(err));
}

// 16 hex digits from the kernel's random pool: a temp name nobody can predict (and pre-create or
// plant a symlink at).
inline std::string random_suffix() {
  unsigned char bytes[8] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(error_kind::io, std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  return alivpc::detail::to_hex(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

struct temp_file {
  int fd = -1;
  std::filesystem::path path;
};

// A new file next to `path` (same directory, so rename() is atomic), created exclusively and
// never through a symlink, mode 0644 whatever the umask (the CNI plugin reads it).
inline temp_file create_temp_beside(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  auto dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    fail(error_kind::io, "subnet file " + path.string() + ": cannot create directory " +
                             dir.string() + ": " + ec.message());
  for (int attempt = 0;; ++attempt) {
    temp_file t;
    // Appended, not `"." + ...`: GCC 12 at -O3 reports a false -Wrestrict on that temporary.
    std::string name = ".";
    name.append(path.filename().string()).append(".tmp.").append(random_suffix());
    t.path = dir / name;
    t.fd = ::open(t.path.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
    if (t.fd < 0 && errno == EEXIST && attempt < 8) continue;
    if (t.fd < 0)
      subnet_file_error(path, "cannot create a temporary file in " + dir.string(), errno);
    if (::fchmod(t.fd, 0644) != 0) {
      int err = errno;
      ::close(t.fd);
      ::unlink(t.path.c_str());
      subnet_file_error(path, "chmod " + t.path.string(), err);
    }
    return t;
  }
}

inline void fsync_directory(const std::filesystem::path& path) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) subnet_file_error(path, "open directory " + dir.string(), errno);
  // Some file systems cannot fsync a directory (EINVAL): the rename itself has happened.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int err = errno;
    ::close(fd);
    subnet_file_error(path, "fsync directory " + dir.string(), err);
  }
  ::close(fd);
}

}  // namespace detail

// Atomically replaces `path`: a reader sees the old file or the new one, never half of one, and
// after a crash the new one is on disk. Every failure is an alivpc::error(io) naming the path.
inline void write_subnet_file(const std::filesystem::path& path, const subnet_file& f) {
  auto tmp = detail::create_temp_beside(path);
  auto give_up = [&](const std::string& step, int err) {
    ::close(tmp.fd);
    ::unlink(tmp.path.c_str());
    detail::subnet_file_error(path, step + " " + tmp.path.string(), err);
  };
  auto content = format_subnet_file(f);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(tmp.fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) give_up("write", errno);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(tmp.fd) != 0) give_up("fsync", errno);
  if (::close(tmp.fd) != 0) {
    int err = errno;
    ::unlink(tmp.path.c_str());
    detail::subnet_file_error(path, "close " + tmp.path.string(), err);
  }
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.path.c_str());
    detail::subnet_file_error(path, "rename from " + tmp.path.string(), err);
  }
  detail::fsync_directory(path);
}

// Fails (alivpc::error naming the path and the reason) unless write_subnet_file(path) could
// work: the directory exists or can be made, a file can be created in it, and `path` is not a
// directory. The daemon calls it before it takes a lease, so a wrong --subnet-file costs no
// lease and no route.
inline void check_subnet_file_writable(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(error_kind::io, "subnet file " + path.string() + ": is a directory");
  auto probe = detail::create_temp_beside(path);
  ::close(probe.fd);
  ::unlink(probe.path.c_str());
}

// The previous subnet file, or nullopt when there is none. A file that exists but cannot be
// parsed is an error: silently ignoring it would make the node change its subnet.
inline std::optional<subnet_file> read_subnet_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return std::nullopt;
    fail(error_kind::io, "subnet file " + path.string() + ": cannot open for reading: " +
                             (ec ? ec.message() : std::string(std::strerror(err))));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_subnet_file(buf.str(), "subnet file " + path.string());
}

}  // namespace alivpc::lease
