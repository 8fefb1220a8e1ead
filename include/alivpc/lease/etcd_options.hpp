// Settings shared by the etcd stores; they map one to one onto flanneld's --etcd-* flags.
#pragma once

#include <alivpc/http/client.hpp>
#include <alivpc/http/endpoint_pool.hpp>
#include <alivpc/http/url.hpp>
#include <alivpc/lease/coordination_keys.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace alivpc::lease {

struct etcd_options {
  // --etcd-endpoints (flannel's default: both the legacy and the IANA client port).
  std::vector<http::url> endpoints = {http::url::parse("http://127.0.0.1:4001"),
                                      http::url::parse("http://127.0.0.1:2379")};
  std::string prefix = "/coreos.com/network";  // --etcd-prefix
  http::client_options http;      // --etcd-cafile/certfile/keyfile, --etcd-username/password
  http::backoff_options backoff;  // unreachable etcd: capped exponential backoff, full jitter
  // One watch call waits at most this long for a change (then returns no events) and is made
  // again. A peer that vanished without a word fails the watch within a minute by TCP keepalive
  // (http::client_options::keepalive); this bound replaces a watch that a live connection stopped
  // serving (a proxy, an etcd fault). Nothing safety-related waits on it (renewals and the route
  // write fence read the key). Each re-made watch costs etcd a watch creation and the node a
  // wake-up: 5,000 nodes at 30 min are 2.8 a second (at 5 min, 17; flannel's watches never end).
  std::chrono::milliseconds watch_wait{std::chrono::minutes(30)};
  // acquire_lease re-chooses after a lost race at most this many times.
  int max_claim_attempts = 32;

  std::string config_key() const { return prefix + "/config"; }
  std::string subnets_dir() const { return prefix + "/subnets/"; }
  // The route leader mode's keys (coordination_keys.hpp).
  std::string route_leader_key() const { return alivpc::lease::route_leader_key(prefix); }
  std::string route_states_dir() const { return alivpc::lease::route_states_dir(prefix); }
};

}  // namespace alivpc::lease
