// The ECS instance metadata service at /metadata/<instance-id>/latest/...: identity and network
// keys of an emulated instance, the hardened-mode session token (PUT /latest/api/token) and the
// STS credentials of its RAM role.
#pragma once

#include <alivpc/cloud/signer.hpp>
#include <alivpc/detail/strings.hpp>
#include <alivpc/sim/credentials.hpp>
#include <alivpc/sim/http_exchange.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

namespace alivpc::sim {

struct emulator_options {
  std::string ram_role = "alivpc-node";  // empty: the instances have no RAM role
  std::chrono::seconds sts_ttl{3600};
  bool metadata_token_required = false;  // hardened mode only
};

class metadata_service {
 public:
  metadata_service(vpc_model& model, credential_store& keys, emulator_options opts = {})
      : model_(model), keys_(keys), opts_(std::move(opts)) {}

  emulator_options& options() noexcept { return opts_; }

  // `rng` draws the session tokens (PUT /latest/api/token).
  http_answer handle(const http_request& req, wall_time wall, prng& rng) {
    std::string_view rest = std::string_view(req.target).substr(std::strlen("/metadata/"));
    rest = rest.substr(0, rest.find('?'));
    auto slash = rest.find('/');
    std::string instance_id(rest.substr(0, slash));
    std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    const instance_record* inst = model_.find_instance(instance_id);
    if (!inst)
      return text(404, "404 - Not Found (no such emulated instance)", "metadata", "NotFound");
    if (path == "/latest/api/token") {
      if (req.method != "PUT")
        return text(405, "405 - Method Not Allowed", "metadata:token", "MethodNotAllowed");
      auto ttl_text = header_of(req, "x-aliyun-ecs-metadata-token-ttl-seconds");
      long ttl = 0;
      bool ok = !ttl_text.empty() && ttl_text.size() <= 5 &&
                ttl_text.find_first_not_of("0123456789") == std::string::npos;
      if (ok) ttl = std::stol(ttl_text);
      if (!ok || ttl < 1 || ttl > 21600)
        return text(400,
                    "400 - Bad Request (X-aliyun-ecs-metadata-token-ttl-seconds must be 1..21600)",
                    "metadata:token", "BadRequest");
      std::string token;
      for (int i = 0; i < 48; ++i)
        token += "0123456789abcdef"[rng.below(16)];
      metadata_tokens_[token] = wall + std::chrono::seconds(ttl);
      return text(200, token, "metadata:token", "Success");
    }
    if (req.method != "GET")
      return text(405, "405 - Method Not Allowed", "metadata", "MethodNotAllowed");
    auto token = header_of(req, "x-aliyun-ecs-metadata-token");
    if (!token.empty() || opts_.metadata_token_required) {
      auto it = metadata_tokens_.find(token);
      if (it == metadata_tokens_.end() || it->second <= wall)
        return text(401, "401 - Unauthorized", "metadata", "Unauthorized");
    }
    constexpr std::string_view base = "/latest/meta-data/";
    if (!path.starts_with(base)) return text(404, "404 - Not Found", "metadata", "NotFound");
    std::string key(path.substr(base.size()));
    const auto* vpc = model_.find_vpc(inst->vpc_id);
    const auto& vsw = model_.vswitches().at(inst->vswitch_id);
    std::map<std::string, std::string> plain{{"instance-id", inst->id},
                                             {"region-id", inst->region_id},
                                             {"zone-id", inst->zone_id},
                                             {"vpc-id", inst->vpc_id},
                                             {"vswitch-id", inst->vswitch_id},
                                             {"private-ipv4", inst->private_ip.to_string()},
                                             {"vpc-cidr-block", vpc ? vpc->cidr.to_string() : ""},
                                             {"vswitch-cidr-block", vsw.cidr.to_string()},
                                             {"mac", inst->mac},
                                             {"hostname", inst->id},
                                             {"network-type", "vpc"}};
    std::string log = "metadata:" + key.substr(0, key.find('/'));
    if (key.empty()) {
      std::string listing;
      for (const auto& [k, v] : plain)
        listing += k + "\n";
      listing += "ram/";
      return text(200, listing, log, "Success");
    }
    if (auto it = plain.find(key); it != plain.end()) return text(200, it->second, log, "Success");
    if (key == "ram/" || key == "ram") return text(200, "security-credentials/", log, "Success");
    constexpr std::string_view creds = "ram/security-credentials/";
    if (key.starts_with(creds) && !opts_.ram_role.empty()) {
      auto role = key.substr(creds.size());
      if (role.empty()) return text(200, opts_.ram_role, log, "Success");
      if (role == opts_.ram_role) return sts_credentials(inst->id, wall, log);
    }
    return text(404, "404 - Not Found", log, "NotFound");
  }

 private:
  static http_answer text(int status, std::string body, std::string action, std::string outcome) {
    http_answer a;
    a.status = status;
    a.content_type = "text/plain";
    a.body = std::move(body);
    a.action = std::move(action);
    a.outcome = std::move(outcome);
    return a;
  }
  static std::string header_of(const http_request& req, std::string_view name) {
    for (const auto& [k, v] : req.headers)
      if (alivpc::detail::lower(k) == name) return alivpc::detail::trim(v);
    return {};
  }

  // The same STS key is served until less than half its lifetime is left, as the real service
  // hands out one key for a while and a fresh one well before expiry.
  http_answer sts_credentials(const std::string& instance_id, wall_time wall,
                              const std::string& log) {
    auto& current = sts_by_instance_[instance_id];
    const access_key* key = current.empty() ? nullptr : keys_.find(current);
    if (!key || *key->expiration - wall < opts_.sts_ttl / 2) {
      key = &keys_.issue_sts(wall, opts_.sts_ttl);
      current = key->id;
      sts_issued_at_[key->id] = wall;
    }
    json out{{"AccessKeyId", key->id},
             {"AccessKeySecret", key->secret},
             {"Expiration", cloud::format_timestamp(*key->expiration)},
             {"SecurityToken", key->security_token},
             {"LastUpdated", cloud::format_timestamp(sts_issued_at_[key->id])},
             {"Code", "Success"}};
    http_answer a = text(200, out.dump(2), log, "Success");
    a.content_type = "text/plain";
    return a;
  }

  vpc_model& model_;
  credential_store& keys_;
  emulator_options opts_;
  std::map<std::string, wall_time> metadata_tokens_;
  std::map<std::string, std::string> sts_by_instance_;
  std::map<std::string, wall_time> sts_issued_at_;
};

}  // namespace alivpc::sim
