// Blocking HTTP(S) calls for tests (Boost.Beast, one connection per call) and request builders
// signed with alivpc::cloud's signers, for talking to alivpc-emulator.
//
//   auto r = alivpc_test::http_call(emu.url(), "GET", "/_emulator/stats");
//   auto q = alivpc_test::signed_v1(emu, "GET",
//   {{"Action","DescribeVpcs"},{"RegionId","cn-hangzhou"}},
//                                   "testid", "testsecret");
//   auto v = alivpc_test::signed_v3(emu, "POST", "CreateRouteEntry", {...}, "testid",
//   "testsecret"); alivpc_test::send(emu.url(), q)  // -> http_result {status, body}
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/cloud/signer.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace alivpc_test {

struct http_result {
  int status = 0;
  std::string body;
  std::string content_type;
};

struct outgoing_request {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// url: "http://host:port" or "https://host:port"; ca_file verifies the server when given.
inline http_result send(const std::string& url, const outgoing_request& req,
                        const std::string& ca_file = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace asio = boost::asio;
  bool tls = url.rfind("https://", 0) == 0;
  auto rest = url.substr(url.find("://") + 3);
  auto colon = rest.rfind(':');
  auto host = rest.substr(0, colon), port = rest.substr(colon + 1);
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port);
  http::request<http::string_body> r;
  r.method_string(req.method);
  r.target(req.target);
  r.version(11);
  bool has_host = false;
  for (const auto& [k, v] : req.headers) {
    r.set(k, v);
    has_host |= beast::iequals(k, "host");
  }
  if (!has_host) r.set(http::field::host, host + ":" + port);
  r.body() = req.body;
  r.prepare_payload();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  // Asynchronous operations, because tcp_stream's deadline only applies to those: a server that
  // never answers makes this throw after `timeout` instead of hanging the test.
  auto check = [](beast::error_code ec) {
    if (ec) throw boost::system::system_error(ec);
  };
  auto exchange = [&](auto& stream) {
    http::async_write(stream, r, [&](beast::error_code ec, std::size_t) {
      check(ec);
      http::async_read(stream, buf, res, [&](beast::error_code ec2, std::size_t) { check(ec2); });
    });
  };
  if (tls) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (!ca_file.empty()) {
      ctx.load_verify_file(ca_file);
      ctx.set_verify_mode(asio::ssl::verify_peer);
    } else {
      ctx.set_verify_mode(asio::ssl::verify_none);
    }
    beast::ssl_stream<beast::tcp_stream> s(io, ctx);
    beast::get_lowest_layer(s).expires_after(timeout);
    beast::get_lowest_layer(s).async_connect(endpoints, [&](beast::error_code ec, auto) {
      check(ec);
      s.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec2) {
        check(ec2);
        exchange(s);
      });
    });
    io.run();
  } else {
    beast::tcp_stream s(io);
    s.expires_after(timeout);
    s.async_connect(endpoints, [&](beast::error_code ec, auto) {
      check(ec);
      exchange(s);
    });
    io.run();
    beast::error_code ec;
    s.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
  http_result out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  out.content_type = std::string(res[http::field::content_type]);
  return out;
}

inline http_result http_call(const std::string& url, const std::string& method,
                             const std::string& target,
                             std::vector<std::pair<std::string, std::string>> headers = {},
                             std::string body = {}) {
  return send(url, outgoing_request{method, target, std::move(headers), std::move(body)});
}

inline std::string fresh_nonce() {
  static std::atomic<unsigned long> n{0};
  return "nonce-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
         "-" + std::to_string(++n);
}

// A V1 (HMAC-SHA1) request: all parameters in the query string. `params` holds the action's own
// parameters plus Action (and Version, default 2016-04-28, and SecurityToken when needed).
inline outgoing_request signed_v1(
    const std::string& method, alivpc::cloud::param_map params, const std::string& key_id,
    const std::string& secret,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  params["AccessKeyId"] = key_id;
  params.emplace("Format", "JSON");
  params.emplace("Version", "2016-04-28");
  params["SignatureMethod"] = "HMAC-SHA1";
  params["SignatureVersion"] = "1.0";
  params.emplace("SignatureNonce", fresh_nonce());
  params.emplace("Timestamp", alivpc::cloud::format_timestamp(now));
  params["Signature"] = alivpc::cloud::sign_v1(method, params, secret).signature;
  return outgoing_request{method, "/?" + alivpc::cloud::encode_query(params), {}, {}};
}

// A V3 (ACS3-HMAC-SHA256) request as the current SDKs send it: action parameters in the query,
// Action/Version in x-acs-* headers. host must be what the request's Host header will say.
inline outgoing_request signed_v3(
    const std::string& host, const std::string& method, const std::string& action,
    alivpc::cloud::param_map query, const std::string& key_id, const std::string& secret,
    const std::string& version = "2016-04-28", const std::string& security_token = {},
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
    const std::string& body = {}) {
  alivpc::cloud::v3_request r;
  r.method = method;
  r.query = std::move(query);
  r.headers = {{"host", host},
               {"x-acs-action", action},
               {"x-acs-version", version},
               {"x-acs-date", alivpc::cloud::format_timestamp(now)},
               {"x-acs-signature-nonce", fresh_nonce()},
               {"x-acs-content-sha256", alivpc::cloud::sha256_hex(body)}};
  if (!security_token.empty()) r.headers["x-acs-security-token"] = security_token;
  auto sig = alivpc::cloud::sign_v3(r, key_id, secret);
  outgoing_request out{method, "/?" + alivpc::cloud::encode_query(r.query), {}, body};
  for (const auto& [k, v] : r.headers)
    out.headers.emplace_back(k, v);
  out.headers.emplace_back("Authorization", sig.authorization);
  out.headers.emplace_back("accept", "application/json");
  return out;
}

}  // namespace alivpc_test
