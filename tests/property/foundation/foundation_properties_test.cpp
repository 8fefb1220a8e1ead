// Properties of the foundation types. rapidcheck prints "Using configuration: seed=N" and a
// reproduction line on failure; RC_PARAMS="seed=N" replays a run.
#include <alivpc/config/network_config.hpp>
#include <alivpc/lease/subnet_allocator.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

using alivpc::net::ipv4_address;
using alivpc::net::ipv4_cidr;

namespace {
rc::Gen<ipv4_cidr> any_cidr() {
  return rc::gen::apply([](std::uint32_t a, int p) { return ipv4_cidr(ipv4_address(a), p); },
                        rc::gen::arbitrary<std::uint32_t>(), rc::gen::inRange(0, 33));
}

// 100.64.0.0/10: an ali-vpc Network there is refused (see validate in network_config.hpp).
constexpr auto vpc_reserved = ipv4_cidr(ipv4_address(100u << 24 | 64u << 16), 10);

// A config with a small-ish network so that exhaustive checks stay cheap. The network avoids
// the VPC's reserved block: about one draw in a thousand lands there and would be refused.
rc::Gen<alivpc::config::network_config> any_config() {
  return rc::gen::exec([] {
    int prefix = *rc::gen::inRange(16, 29);
    auto base = *rc::gen::suchThat(
        rc::gen::map(rc::gen::arbitrary<std::uint32_t>(),
                     [prefix](std::uint32_t a) { return ipv4_cidr(ipv4_address(a), prefix); }),
        [](const ipv4_cidr& n) { return !n.overlaps(vpc_reserved); });
    int subnet_len = *rc::gen::inRange(std::max(prefix + 2, 20), 31);
    nlohmann::json j{{"Network", base.to_string()},
                     {"SubnetLen", subnet_len},
                     {"Backend", {{"Type", "ali-vpc"}}}};
    return alivpc::config::parse_network_config_json(j);
  });
}
}  // namespace

RC_GTEST_PROP(CidrProperties, FormatParseRoundTrip, ()) {
  auto c = *any_cidr();
  RC_ASSERT(ipv4_cidr::parse(c.to_string()) == c);
  RC_ASSERT(c.contains(c.network()) && c.contains(c.broadcast()));
  RC_ASSERT(c.overlaps(c));
}

RC_GTEST_PROP(CidrProperties, OverlapMeansSharingAnAddress, ()) {
  auto a = *any_cidr();
  auto b = *any_cidr();
  bool share_an_address = a.first() < b.end() && b.first() < a.end();
  RC_ASSERT(a.overlaps(b) == share_an_address);
  RC_ASSERT(a.overlaps(b) == b.overlaps(a));
}

RC_GTEST_PROP(ConfigProperties, RoundTripThroughJson, ()) {
  auto c = *any_config();
  RC_ASSERT(alivpc::config::parse_network_config_json(alivpc::config::to_json(c)) == c);
}

// The other side of the generator's exclusion: a Network touching the reserved block is refused,
// and the error names the field.
RC_GTEST_PROP(ConfigProperties, ReservedBlockIsRefused, ()) {
  int prefix = *rc::gen::inRange(8, 29);
  auto at = vpc_reserved.first() + *rc::gen::inRange<std::uint64_t>(0, vpc_reserved.size());
  auto network = ipv4_cidr(ipv4_address(static_cast<std::uint32_t>(at)), prefix);
  nlohmann::json j{{"Network", network.to_string()}, {"Backend", {{"Type", "ali-vpc"}}}};
  std::string error;
  try {
    alivpc::config::parse_network_config_json(j);
  } catch (const std::exception& e) {
    error = e.what();
  }
  RC_ASSERT(error.find("Network") != std::string::npos);
  RC_ASSERT(error.find("100.64.0.0/10") != std::string::npos);
}

// Safety: never overlapping, never outside SubnetMin..SubnetMax, always SubnetLen.
// Completeness: finds a subnet iff an exhaustive scan finds a free one.
RC_GTEST_PROP(AllocatorProperties, SafeAndComplete, ()) {
  auto c = *any_config();
  std::vector<ipv4_cidr> taken;
  int n = *rc::gen::inRange(0, 40);
  for (int i = 0; i < n; ++i) {
    // Taken blocks of any size in the network, some larger than a subnet, some smaller.
    auto at = c.network->first() + *rc::gen::inRange<std::uint64_t>(0, c.network->size());
    int len = *rc::gen::inRange(c.network->prefix_length(), 33);
    taken.emplace_back(ipv4_address(static_cast<std::uint32_t>(at)), len);
  }
  std::optional<ipv4_cidr> previous;
  if (*rc::gen::arbitrary<bool>()) {
    auto at = c.network->first() + *rc::gen::inRange<std::uint64_t>(0, c.network->size());
    previous = ipv4_cidr(ipv4_address(static_cast<std::uint32_t>(at)), c.subnet_len);
  }
  alivpc::prng rng(*rc::gen::arbitrary<std::uint64_t>());
  auto got = alivpc::lease::choose_subnet(c, taken, previous, rng);

  bool any_free = false;
  c.network->for_each_subnet(c.subnet_len, [&](ipv4_cidr s) {
    if (s.network() < c.subnet_min || s.network() > c.subnet_max) return true;
    for (auto& t : taken)
      if (t.overlaps(s)) return true;
    any_free = true;
    return false;
  });
  RC_ASSERT(got.has_value() == any_free);
  if (got) {
    RC_ASSERT(got->prefix_length() == c.subnet_len);
    RC_ASSERT(got->network() >= c.subnet_min && got->network() <= c.subnet_max);
    for (auto& t : taken)
      RC_ASSERT(!t.overlaps(*got));
    bool previous_was_free =
        previous && previous->network() >= c.subnet_min && previous->network() <= c.subnet_max &&
        std::none_of(taken.begin(), taken.end(), [&](auto& t) { return t.overlaps(*previous); });
    if (previous_was_free) RC_ASSERT(*got == *previous);
  }
}

namespace {
std::vector<std::pair<long, int>> run_workers(std::uint64_t seed) {
  alivpc::virtual_scheduler s(seed);
  std::vector<std::pair<long, int>> log;
  auto worker = [](alivpc::virtual_scheduler& s, std::vector<std::pair<long, int>>& log,
                   int id) -> alivpc::task<void> {
    for (int i = 0; i < 5; ++i) {
      co_await alivpc::sleep_for(s, std::chrono::milliseconds(s.random().between(0, 50)));
      log.emplace_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(s.now().time_since_epoch()).count(),
          id);
    }
  };
  for (int id = 0; id < 50; ++id)
    alivpc::spawn(s, worker(s, log, id));
  s.run();
  return log;
}
}  // namespace

RC_GTEST_PROP(SchedulerProperties, SameSeedSameEventOrder, (std::uint64_t seed)) {
  auto a = run_workers(seed);
  RC_ASSERT(a == run_workers(seed));
  RC_ASSERT(a.size() == 250u);
  RC_ASSERT(std::is_sorted(a.begin(), a.end(), [](auto& x, auto& y) { return x.first < y.first; }));
}
