// flannel's subnet file (/run/flannel/subnet.env), read by the flannel CNI plugin:
//   FLANNEL_NETWORK=10.24.0.0/16
//   FLANNEL_SUBNET=10.24.5.1/24
//   FLANNEL_MTU=1500
//   FLANNEL_IPMASQ=false
// Written atomically (temp file in the same directory, fsync, rename) so that a reader never
// sees half a file; read back at start to prefer the previous subnet.
#pragma once

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

inline void write_subnet_file(const std::filesystem::path& path, const subnet_file& f) {
  namespace fs = std::filesystem;
  auto dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    fail(error_kind::io, "subnet file " + path.string() + ": cannot create directory " +
                             dir.string() + ": " + ec.message());
  auto tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  auto content = format_subnet_file(f);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(error_kind::io, "subnet file " + tmp.string() + ": " + std::strerror(errno));
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(error_kind::io, "subnet file " + tmp.string() + ": write: " + std::strerror(err));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(error_kind::io, "subnet file " + tmp.string() + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(error_kind::io, "subnet file " + path.string() + ": rename: " + std::strerror(err));
  }
}

// The previous subnet file, or nullopt when there is none. A file that exists but cannot be
// parsed is an error: silently ignoring it would make the node change its subnet.
inline std::optional<subnet_file> read_subnet_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::nullopt;
    fail(error_kind::io, "subnet file " + path.string() + ": cannot open for reading");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_subnet_file(buf.str(), "subnet file " + path.string());
}

}  // namespace alivpc::lease
