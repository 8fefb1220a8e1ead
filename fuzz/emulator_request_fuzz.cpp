// Fuzzes the emulator's request path: raw HTTP request text -> split -> parse_api_request, then
// the whole service (signature check, metadata, admin, actions) on a small world. Any input must
// give an answer, never a crash. Seeds: fuzz/corpus/emulator_request/ (captured SDK requests).
#include <alivpc/sim/emulator_service.hpp>
#include <alivpc/sim/raw_request.hpp>
#include <alivpc/sim/request_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alivpc;
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  auto req = sim::split_raw_request(raw);
  if (!req) return 0;
  (void)sim::parse_api_request(req->method, req->target, req->headers, req->body);

  sim::model_config cfg;
  cfg.write_delay = std::chrono::milliseconds(0);
  sim::vpc_model model(cfg, 1);
  const auto& v = model.add_vpc("cn-hangzhou", net::ipv4_cidr::parse("192.168.0.0/16"), "vpc-1",
                                "vrt-1", "vtb-1");
  const auto& sw =
      model.add_vswitch(v.id, "cn-hangzhou-h", net::ipv4_cidr::parse("192.168.0.0/24"), "vsw-1");
  model.add_instance("i-1", sw.id, net::ipv4_address::parse("192.168.0.10"));
  sim::credential_store keys(1);
  keys.add_key("testid", "testsecret");
  sim::emulator_service service(model, keys, {}, 1);
  auto wall = *cloud::parse_timestamp("2026-11-27T08:17:08Z");
  auto answer = service.handle(*req, wall, time_point{});
  if (answer.status < 100 || answer.status > 599) __builtin_trap();
  return 0;
}
