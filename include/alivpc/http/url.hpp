// An endpoint URL as flags give it: "http://127.0.0.1:2379", "https://etcd.example:2379/base".
// Userinfo ("user:pass@") is accepted but kept out of to_string() and of every error message.
#pragma once

#include <alivpc/error.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace alivpc::http {

struct url {
  std::string scheme;  // "http" or "https"
  std::string host;    // name or IPv4 address; an IPv6 literal without its brackets
  std::uint16_t port = 0;
  std::string path;                // "" or "/base" (no trailing '/')
  std::string username, password;  // from userinfo; never printed

  bool is_tls() const noexcept { return scheme == "https"; }

  // Host as it goes into a URL or a Host header: IPv6 literals get brackets back.
  std::string host_for_url() const {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
  }
  // "https://h:p/base" without userinfo: safe for messages and logs.
  std::string to_string() const {
    return scheme + "://" + host_for_url() + ":" + std::to_string(port) + path;
  }

  // A URL as the user typed it, safe for messages: everything up to the LAST '@' is masked, as
  // parse() splits userinfo at the last '@' (a password may hold '@', "u:p@ss@host"), and a
  // password with '/' or '?' must not leak either, so the last '@' of the whole text counts.
  static std::string redact(std::string_view text) {
    std::string s(text);
    auto at = s.rfind('@');
    if (at == std::string::npos) return s;
    auto scheme_end = s.find("://");
    auto start = scheme_end == std::string::npos || scheme_end > at ? 0 : scheme_end + 3;
    s.replace(start, at - start, "***");
    return s;
  }

  // 127.0.0.0/8, ::1 or "localhost": traffic that never leaves the machine.
  bool is_loopback() const {
    if (host == "localhost" || host == "::1") return true;
    unsigned a = 0;
    auto [p, ec] = std::from_chars(host.data(), host.data() + host.size(), a);
    return ec == std::errc{} && a == 127 && p != host.data() + host.size() && *p == '.' &&
           host.find_first_not_of("0123456789.") == std::string::npos;
  }

  static url parse(std::string_view text) {
    url u;
    auto shown = [&] { return redact(text); };
    auto bad = [&](const std::string& why) -> url {
      fail(error_kind::invalid_argument,
           "URL \"" + shown() + "\": " + why + " (expected e.g. http://127.0.0.1:2379)");
    };
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return bad("no scheme");
    for (char c : text.substr(0, sep))
      u.scheme += static_cast<char>(c | 0x20);
    if (u.scheme != "http" && u.scheme != "https") return bad("scheme must be http or https");
    std::string_view rest = text.substr(sep + 3);
    auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    std::string_view path =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view info = authority.substr(0, at);
      auto colon = info.find(':');
      u.username = std::string(info.substr(0, colon));
      if (colon != std::string_view::npos) u.password = std::string(info.substr(colon + 1));
      authority = authority.substr(at + 1);
    }
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
      auto close = authority.find(']');
      if (close == std::string_view::npos) return bad("unclosed '[' in host");
      u.host = std::string(authority.substr(1, close - 1));
      auto after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') return bad("junk after ']'");
        port_text = after.substr(1);
        if (port_text.empty()) return bad("empty port");
      }
    } else {
      auto colon = authority.rfind(':');
      u.host = std::string(authority.substr(0, colon));
      if (colon != std::string_view::npos) {
        port_text = authority.substr(colon + 1);
        if (port_text.empty()) return bad("empty port");
      }
    }
    if (u.host.empty()) return bad("empty host");
    if (!port_text.empty()) {
      unsigned p = 0;
      auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
      if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || p == 0 || p > 65535)
        return bad("port must be 1..65535");
      u.port = static_cast<std::uint16_t>(p);
    } else {
      u.port = u.is_tls() ? 443 : 80;
    }
    auto query = path.find_first_of("?#");
    if (query != std::string_view::npos) return bad("query or fragment not allowed");
    while (!path.empty() && path.back() == '/')
      path.remove_suffix(1);
    u.path = std::string(path);
    return u;
  }
};

}  // namespace alivpc::http
