// The simulator's lowest cloud layer: a cloud::transport_factory that hands each signed request
// to an emulator_service in process, on the scheduler's time. Everything above it is the code
// the daemon runs (basic_aliyun_route_api, rpc_client, the signers, retry_policy, the metadata
// client and the credential chain); everything below is the same service alivpc-emulator serves
// over sockets. An answer arrives after the modelled latency; an injected drop is a connection
// closed without an answer, an injected timeout waits the client's request timeout, as the real
// http::client reports them (error_kind::transient).
#pragma once

#include <alivpc/cloud/transport.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/sim/emulator_service.hpp>

#include <functional>
#include <string>
#include <utility>

namespace alivpc::sim {

// Called before a request leaves and when its answer arrives: throws to end the exchange (a
// killed process neither sends nor hears anything more).
using exchange_guard = std::function<void()>;

template <scheduler S>
class service_transport {
 public:
  service_transport(S& s, emulator_service& service) : s_(s), service_(service) {}

  // A factory for one simulated process; `guard` may be empty.
  cloud::transport_factory factory(exchange_guard guard = {}) {
    return [this, guard = std::move(guard)](const http::url& endpoint,
                                            const http::client_options& options) {
      return cloud::send_function(
          [this, guard, endpoint, timeout = options.request_timeout](http::request r) {
            return exchange(this, guard, endpoint, timeout, std::move(r));
          });
    };
  }

  std::uint64_t exchanges() const noexcept { return exchanges_; }
  // Bytes of every answer body handed back: what the cloud sent the nodes.
  std::uint64_t answer_bytes() const noexcept { return answer_bytes_; }

 private:
  static task<http::response> exchange(service_transport* self, exchange_guard guard,
                                       http::url endpoint, std::chrono::milliseconds timeout,
                                       http::request r) {
    if (guard) guard();
    ++self->exchanges_;
    http_request req{std::move(r.method), endpoint.path + r.target, std::move(r.headers),
                     std::move(r.body)};
    http_answer a = self->service_.handle(req, self->s_.wall_now(), self->s_.now());
    co_await sleep_for(self->s_, a.hang ? clock_duration(timeout) : a.delay);
    if (guard) guard();
    if (a.hang)
      fail(error_kind::transient, req.method + " " + endpoint.to_string() +
                                      ": timed out reading the answer (after " +
                                      std::to_string(timeout.count()) + " ms)");
    if (a.drop)
      fail(error_kind::transient, req.method + " " + endpoint.to_string() +
                                      ": the connection was closed without an answer");
    self->answer_bytes_ += a.body.size();
    http::response res;
    res.status = static_cast<unsigned>(a.status);
    res.headers.emplace_back("content-type", std::move(a.content_type));
    res.body = std::move(a.body);
    co_return res;
  }

  S& s_;
  emulator_service& service_;
  std::uint64_t exchanges_ = 0, answer_bytes_ = 0;
};

}  // namespace alivpc::sim
