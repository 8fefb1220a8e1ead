// alivpc-call: one signed Alibaba Cloud OpenAPI call, printed as JSON (like `aliyun vpc ...`).
//   alivpc-call --endpoint URL [--version 2016-04-28] [--signature v3|v1] [--ca-file F] ACTION
//   [Key=Value ...]
// Keys come from ACCESS_KEY_ID / ACCESS_KEY_SECRET (never from the command line, so they do not
// end up in shell history or `ps`). The demo uses it to show DescribeRouteTables.
#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/cloud/rpc_client.hpp>
#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/cloud/transport.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  using namespace alivpc;
  std::string endpoint, version = "2016-04-28", signature = "v3", ca_file, action;
  cloud::param_map params;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "alivpc-call: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--endpoint")
      endpoint = value();
    else if (a == "--version")
      version = value();
    else if (a == "--signature")
      signature = value();
    else if (a == "--ca-file")
      ca_file = value();
    else if (a == "--help" || a == "-h") {
      std::puts(
          "usage: alivpc-call --endpoint URL [--version V] [--signature v3|v1] [--ca-file F] "
          "ACTION [Key=Value ...]\n"
          "credentials: ACCESS_KEY_ID and ACCESS_KEY_SECRET in the environment");
      return 0;
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "alivpc-call: unknown flag %s\n", a.c_str());
      return 2;
    } else if (action.empty())
      action = a;
    else if (auto eq = a.find('='); eq != std::string::npos)
      params[a.substr(0, eq)] = a.substr(eq + 1);
    else {
      std::fprintf(stderr, "alivpc-call: \"%s\" is not Key=Value\n", a.c_str());
      return 2;
    }
  }
  const char* id = std::getenv("ACCESS_KEY_ID");
  const char* key = std::getenv("ACCESS_KEY_SECRET");
  if (endpoint.empty() || action.empty() || !id || !key ||
      (signature != "v3" && signature != "v1")) {
    std::fprintf(
        stderr,
        "alivpc-call: needs --endpoint, an ACTION, v3|v1 and ACCESS_KEY_ID/ACCESS_KEY_SECRET\n");
    return 2;
  }
  boost::asio::io_context io;
  asio_scheduler sched(io);
  int rc = 0;
  try {
    auto url = http::url::parse(endpoint);
    http::client_options ho;
    ho.tls.ca_file = ca_file;
    cloud::credentials creds{id, cloud::secret(key), {}, std::nullopt};
    cloud::rpc_options ro;
    ro.api_version = version;
    ro.signature = signature == "v1" ? cloud::signature_version::v1 : cloud::signature_version::v3;
    cloud::rpc_client<asio_scheduler> rpc(
        sched, url, cloud::make_http_sender(io, url, ho),
        [creds]() -> task<cloud::credentials> { co_return creds; }, ro);
    spawn(sched,
          [](cloud::rpc_client<asio_scheduler>& rpc, std::string action, cloud::param_map params,
             int& rc) -> task<void> {
            try {
              auto body = co_await rpc.call(action, params);
              // Bounded: dump() recurses, and the answer comes from whatever is listening.
              auto j = alivpc::detail::parse_json_bounded(body, error_kind::parse, "answer");
              if (j.is_discarded()) fail(error_kind::parse, "answer is not valid JSON");
              std::cout << j.dump(2) << "\n";
            } catch (const std::exception& e) {
              std::cerr << "alivpc-call: " << action << ": " << e.what() << "\n";
              rc = 1;
            }
          }(rpc, action, params, rc));
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "alivpc-call: " << e.what() << "\n";
    return 1;
  }
  return rc;
}
