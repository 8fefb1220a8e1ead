// Where the access keys come from, in flannel's order plus the RAM role:
//   1. the backend config: "AccessKeyID" / "AccessKeySecret";
//   2. the environment: ACCESS_KEY_ID / ACCESS_KEY_SECRET;
//   3. the instance's RAM role, from the metadata service (STS keys, refreshed before they expire).
// ensure() settles the source before anything else runs, so that a node without credentials
// stops at once with a message listing the three ways. Secrets are never logged or put in errors.
#pragma once

#include <alivpc/runtime/log.hpp>
#include <alivpc/cloud/metadata_client.hpp>
#include <alivpc/cloud/secret.hpp>
#include <alivpc/error.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

namespace alivpc::cloud {

enum class credential_source { config, environment, ram_role };

constexpr std::string_view to_string(credential_source s) {
  switch (s) {
    case credential_source::config:
      return "backend config";
    case credential_source::environment:
      return "environment";
    case credential_source::ram_role:
      return "RAM role";
  }
  return "unknown";
}

struct credentials {
  std::string access_key_id;
  secret access_key_secret;
  secret security_token;                // STS (RAM role) only
  std::optional<wall_time> expiration;  // STS only
  credential_source source = credential_source::config;
};

using getenv_function = std::function<std::optional<std::string>(const char* name)>;

inline std::optional<std::string> process_getenv(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

struct credentials_options {
  std::string access_key_id;  // backend config "AccessKeyID"
  secret access_key_secret;   // backend config "AccessKeySecret"
  bool use_environment = true;
  getenv_function getenv = process_getenv;  // tests pass their own environment
  bool use_ram_role = true;
  std::string ram_role;  // empty: the role the metadata service lists
  // Refresh STS keys this long before Expiration (SDKs use 60 s; a slow call needs more).
  std::chrono::seconds refresh_margin{180};
};

inline constexpr std::string_view credentials_help =
    "give the access key in one of three ways: (1) \"AccessKeyID\" and \"AccessKeySecret\" in "
    "the ali-vpc Backend section of the network config, (2) the environment variables "
    "ACCESS_KEY_ID and ACCESS_KEY_SECRET, or (3) attach a RAM role to the ECS instance so that "
    "the metadata service hands out temporary keys";

template <scheduler S>
class credential_chain {
 public:
  credential_chain(S& s, metadata_client<S>& metadata, credentials_options o = {}, logger log = {})
      : s_(s), metadata_(metadata), o_(std::move(o)), log_(std::move(log)) {}

  // Settles where credentials come from; throws permanent (or invalid_argument for a half-given
  // key) with credentials_help when there are none.
  task<void> ensure() {
    if (current_) co_return;
    if (!o_.access_key_id.empty() || !o_.access_key_secret.empty()) {
      if (o_.access_key_id.empty() || o_.access_key_secret.empty())
        fail(error_kind::invalid_argument,
             std::string("backend config has only one of AccessKeyID and AccessKeySecret; ") +
                 std::string(credentials_help));
      current_ = credentials{
          o_.access_key_id, o_.access_key_secret, {}, std::nullopt, credential_source::config};
      co_return;
    }
    if (o_.use_environment && o_.getenv) {
      auto id = o_.getenv("ACCESS_KEY_ID");
      auto key = o_.getenv("ACCESS_KEY_SECRET");
      bool have_id = id && !id->empty(), have_key = key && !key->empty();
      if (have_id != have_key)
        fail(error_kind::invalid_argument,
             std::string("only one of ACCESS_KEY_ID and ACCESS_KEY_SECRET is set; ") +
                 std::string(credentials_help));
      if (have_id) {
        current_ = credentials{
            *id, secret(std::move(*key)), {}, std::nullopt, credential_source::environment};
        co_return;
      }
    }
    std::string why = "RAM role not enabled";
    if (o_.use_ram_role) {
      try {
        role_ = o_.ram_role;
        if (role_.empty()) {
          auto listed = co_await metadata_.ram_role_name();
          role_ = listed;
        }
        auto fetched = co_await metadata_.fetch_ram_credentials(role_);
        current_ = from_ram(std::move(fetched));
        log_.log(log_level::info,
                 "using the credentials of RAM role " + role_ + " (key id " +
                     current_->access_key_id + ", expires " +
                     format_timestamp(*current_->expiration) + ")",
                 {{"role", role_}, {"expiration", format_timestamp(*current_->expiration)}});
        co_return;
      } catch (const error& e) {
        why = std::string("RAM role from ") + metadata_.base().to_string() + ": " + e.what();
      }
    }
    fail(error_kind::permanent,
         "no AliCloud credentials: none in the backend config, none in the environment, and " +
             why + "; " + std::string(credentials_help));
  }

  // The credentials to sign the next request with; STS keys are refreshed once they are within
  // refresh_margin of Expiration (if the refresh fails while the old keys still work, the old
  // keys are used and the refresh is tried again on the next call).
  task<credentials> current() {
    if (!current_) co_await ensure();
    if (current_->source != credential_source::ram_role) co_return *current_;
    auto now = s_.wall_now();
    if (now + o_.refresh_margin < *current_->expiration) co_return *current_;
    try {
      auto fetched = co_await metadata_.fetch_ram_credentials(role_);
      auto fresh = from_ram(std::move(fetched));
      ++refreshes_;
      log_.log(log_level::info, "refreshed the credentials of RAM role " + role_ + " (expires " +
                                    format_timestamp(*fresh.expiration) + ")");
      current_ = std::move(fresh);
    } catch (const error& e) {
      if (s_.wall_now() >= *current_->expiration) throw;
      log_.log(log_level::warning,
               std::string("refreshing the RAM role credentials failed, the current ones are "
                           "still valid: ") +
                   e.what());
    }
    co_return *current_;
  }

  std::optional<credential_source> source() const {
    return current_ ? std::optional(current_->source) : std::nullopt;
  }
  std::size_t refreshes() const noexcept { return refreshes_; }
  // When the keys in use expire (STS keys of a RAM role); nullopt for long-lived keys.
  std::optional<wall_time> expiration() const {
    return current_ ? current_->expiration : std::nullopt;
  }

 private:
  static credentials from_ram(ram_credentials r) {
    return credentials{std::move(r.access_key_id), std::move(r.access_key_secret),
                       std::move(r.security_token), r.expiration, credential_source::ram_role};
  }

  S& s_;
  metadata_client<S>& metadata_;
  credentials_options o_;
  logger log_;
  std::optional<credentials> current_;
  std::string role_;
  std::size_t refreshes_ = 0;
};

}  // namespace alivpc::cloud
