// The emulator's request handling without sockets: one HTTP request in, one answer out. A thin
// router over three services: /metadata/<instance-id>/latest/... to the ECS metadata service,
// /_emulator/... to the admin service, everything else to the OpenAPI actions. Takes (wall time,
// monotonic time) per request and owns no clock; one seeded PRNG draws every RequestId and
// metadata token, in request order, so a seed gives the same answers on every run.
#pragma once

#include <alivpc/sim/admin_service.hpp>
#include <alivpc/sim/metadata_service.hpp>
#include <alivpc/sim/openapi_service.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace alivpc::sim {

class emulator_service {
 public:
  emulator_service(vpc_model& model, credential_store& keys, emulator_options opts = {},
                   std::uint64_t seed = 0)
      : openapi_(model, keys),
        metadata_(model, keys, std::move(opts)),
        admin_(model),
        rng_(seed ^ 0xe3u) {}

  emulator_options& options() noexcept { return metadata_.options(); }

  http_answer handle(const http_request& req, wall_time wall, time_point now) {
    std::string_view target = req.target;
    try {
      if (target.starts_with("/metadata/")) return metadata_.handle(req, wall, rng_);
      if (target.starts_with("/_emulator/")) return admin_.handle(req, now);
      return openapi_.handle(req, wall, now, rng_);
    } catch (const std::exception& e) {
      // An emulator bug must show as an answer, never as a dead server.
      http_answer a;
      a.status = 500;
      a.body = json{{"RequestId", new_request_id(rng_)},
                    {"HostId", "vpc.aliyuncs.com"},
                    {"Code", "InternalError"},
                    {"Message", std::string("emulator failure: ") + e.what()}}
                   .dump();
      a.action = "Unknown";
      a.outcome = "EmulatorFailure";
      return a;
    }
  }

  static fault_kind parse_fault_kind(const std::string& s) {
    return admin_service::parse_fault_kind(s);
  }
  json world_json(time_point now) { return admin_.world_json(now); }

 private:
  openapi_service openapi_;
  metadata_service metadata_;
  admin_service admin_;
  prng rng_;
};

}  // namespace alivpc::sim
