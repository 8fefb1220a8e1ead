// What the emulator's services exchange: one HTTP request in, one answer out, with the fault and
// latency the model chose for it and what the request log should say. No sockets: the HTTP
// server (emulator_server) and the simulator's in-process transport both speak these.
#pragma once

#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/sim/request_parser.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace alivpc::sim {

using json = nlohmann::ordered_json;

struct http_request {
  std::string method;
  std::string target;
  header_list headers;
  std::string body;
};

struct http_answer {
  int status = 200;
  std::string content_type = "application/json;charset=utf-8";
  std::string body;
  bool drop = false;       // close the connection without an answer (injected fault)
  bool hang = false;       // never answer; close after 10 minutes (injected timeout)
  clock_duration delay{};  // answer after this (modelled latency)
  std::string action;      // for the log: action or "metadata:<key>" / "admin:<op>"
  std::string outcome;     // "Success" or the error code
};

// "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" in upper-case hex, as the OpenAPI's RequestId; 32 draws.
inline std::string new_request_id(prng& rng) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string id;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id += '-';
    id += hex[rng.below(16)];
  }
  return id;
}

}  // namespace alivpc::sim
