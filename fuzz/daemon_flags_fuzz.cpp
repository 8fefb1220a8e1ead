// Fuzzes flanneld_alivpc's command line and environment
// (examples/flanneld_alivpc/daemon_flags.hpp). The input is split on '\n' (so seeds stay text
// files): a piece "FLANNELD_X=v" is an environment variable, every other piece is one argv entry.
// Property: parse_flags returns flags or throws usage_error (or alivpc::error); nothing else
// escapes, and the result is self-consistent.
#include <flanneld_alivpc/daemon_flags.hpp>

#include <alivpc/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "daemon_flags_fuzz: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  while (!input.empty()) {
    auto nl = input.find('\n');
    std::string_view piece = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
    auto eq = piece.find('=');
    if (piece.starts_with("FLANNELD_") && eq != std::string_view::npos)
      env[std::string(piece.substr(0, eq))] = std::string(piece.substr(eq + 1));
    else
      args.emplace_back(piece);
  }
  flanneld_alivpc::daemon_flags f;
  try {
    f = flanneld_alivpc::parse_flags(args, env);
  } catch (const flanneld_alivpc::usage_error&) {
    return 0;
  } catch (const alivpc::error&) {
    return 0;
  } catch (...) {
    bug("an exception other than usage_error escaped parse_flags");
  }
  if (f.etcd_endpoints.empty()) bug("no etcd endpoints");
  if (f.etcd_prefix.empty() || f.etcd_prefix[0] != '/') bug("etcd prefix does not start with /");
  if (f.subnet_lease_renew_margin < 1 || f.subnet_lease_renew_margin > 1439)
    bug("renew margin out of range");
  if (f.lease_ttl < std::chrono::minutes(2)) bug("lease TTL below 2m");
  if (f.reconcile_period < std::chrono::seconds(1)) bug("reconcile period below 1s");
  if (f.next_hop_type == "NetworkInterface" && f.next_hop_id.empty()) bug("ENI without id");
  return 0;
}
