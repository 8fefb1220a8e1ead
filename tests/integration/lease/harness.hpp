// One interface over the three lease stores for the shared test suite: a store plus the
// operator's tools (etcdctl for real etcd, memory_etcd's methods for the model), and a way to
// run tasks and let time pass (real time on asio, virtual time on the model).
#pragma once

#include <alivpc/lease/etcd_v2_store.hpp>
#include <alivpc/lease/etcd_v3_store.hpp>
#include <alivpc/sim/memory_etcd.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc_test/etcd_process.hpp>
#include <alivpc_test/run_task.hpp>

#include <memory>
#include <thread>

namespace lease_test {

using namespace alivpc;
using namespace std::chrono_literals;

inline lease::lease_attrs node(const std::string& ip) {
  lease::lease_attrs a;
  a.public_ip = net::ipv4_address::parse(ip);
  return a;
}

inline lease::etcd_options etcd_options_for(const alivpc_test::etcd_process& etcd) {
  lease::etcd_options o;
  o.endpoints = {http::url::parse(etcd.endpoint())};
  o.watch_wait = 2s;
  o.backoff = {.initial = 50ms, .max = 500ms, .give_up_after = 20s};
  return o;
}

// Real etcd, v3 or v2 API (Store = etcd_v3_store or etcd_v2_store).
template <class Store, int Api>
struct etcd_harness {
  using store_type = Store;
  using scheduler_type = asio_scheduler;
  static constexpr const char* name = Api == 3 ? "etcd v3" : "etcd v2";
  static bool available() { return alivpc_test::etcd_process::available(); }

  alivpc_test::etcd_process etcd;
  boost::asio::io_context io;
  asio_scheduler sched{io, 1234};

  std::unique_ptr<Store> make_store() {
    return std::make_unique<Store>(sched, etcd_options_for(etcd));
  }

  template <class T>
  T run(task<T> t) {
    return alivpc_test::run_task(io, std::move(t));
  }
  // Lets real time pass while the io_context keeps serving spawned work (run_until returns
  // early when there is none: the sleep makes the time pass anyway).
  void pass(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    io.restart();
    io.run_until(until);
    std::this_thread::sleep_until(until);
  }

  std::string key(const net::ipv4_cidr& c) {
    return "/coreos.com/network/subnets/" + lease::subnet_key(c);
  }
  void put_config(const std::string& json) {
    if (Api == 3)
      etcd.etcdctl("put /coreos.com/network/config " + etcd.quote(json));
    else
      etcd.etcdctl("set /coreos.com/network/config " + etcd.quote(json), 2);
  }
  void reserve(const net::ipv4_cidr& c, const lease::lease_attrs& a) {
    auto v = lease::format_lease_value(a);
    if (Api == 3)
      etcd.etcdctl("put " + key(c) + " " + etcd.quote(v));
    else
      etcd.etcdctl("set " + key(c) + " " + etcd.quote(v), 2);
  }
  void erase(const net::ipv4_cidr& c) {
    if (Api == 3)
      etcd.etcdctl("del " + key(c));
    else
      etcd.etcdctl("rm " + key(c), 2);
  }
  // Any key by its full path, as an operator with etcdctl would.
  void erase_key(const std::string& full) {
    if (Api == 3)
      etcd.etcdctl("del " + full);
    else
      etcd.etcdctl("rm " + full, 2);
  }
  std::optional<std::string> read_key(const std::string& full) {
    std::string out;
    if (Api == 3) {
      out = etcd.etcdctl("get " + full + " --print-value-only");
      if (out.empty()) return std::nullopt;
    } else {
      try {
        out = etcd.etcdctl("get " + full, 2);
      } catch (const std::exception&) {
        return std::nullopt;  // "Key not found"
      }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();  // etcdctl's line end
    return out;
  }
};

using v3_harness = etcd_harness<lease::etcd_v3_store, 3>;
using v2_harness = etcd_harness<lease::etcd_v2_store, 2>;

struct memory_harness {
  using store_type = sim::memory_store<virtual_scheduler>;
  using scheduler_type = virtual_scheduler;
  static constexpr const char* name = "memory";
  static bool available() { return true; }

  virtual_scheduler sched{99};
  sim::memory_etcd<virtual_scheduler> etcd{sched};
  int clients = 0;

  std::unique_ptr<store_type> make_store() {
    return std::make_unique<store_type>(etcd, "node" + std::to_string(++clients),
                                        sim::memory_store_options{.watch_wait = 2s});
  }
  template <class T>
  T run(task<T> t) {
    return alivpc_test::run_task(sched, std::move(t));
  }
  void pass(std::chrono::milliseconds d) { sched.run_for(d); }
  void put_config(const std::string& json) { etcd.put_config(json); }
  void reserve(const net::ipv4_cidr& c, const lease::lease_attrs& a) { etcd.reserve(c, a); }
  void erase(const net::ipv4_cidr& c) { etcd.erase(c); }
  void erase_key(const std::string& full) { etcd.erase_coordination_key(full); }
  std::optional<std::string> read_key(const std::string& full) {
    auto it = etcd.coordination_keys().find(full);
    if (it == etcd.coordination_keys().end()) return std::nullopt;
    return it->second.value;
  }
};

}  // namespace lease_test
