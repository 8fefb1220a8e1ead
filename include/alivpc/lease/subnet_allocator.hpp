// Choosing a free subnet between SubnetMin and SubnetMax.
//
// Taken blocks may have any prefix length (a reservation can be larger or smaller than
// SubnetLen), so we merge them into sorted address intervals and count the aligned free
// candidates in each gap arithmetically: O(T log T) for T taken blocks, independent of the size
// of the network. flannel samples among up to 100 free candidates; we pick uniformly among all
// free candidates, which spreads nodes evenly and is just as cheap.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/prng.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace alivpc::lease {

class free_subnets {
 public:
  free_subnets(const config::network_config& cfg, std::span<const net::ipv4_cidr> taken)
      : len_(cfg.subnet_len),
        step_(std::uint64_t{1} << (32 - cfg.subnet_len)),
        min_(cfg.subnet_min.value()),
        max_(cfg.subnet_max.value()) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;  // [first, end)
    spans.reserve(taken.size());
    for (const auto& t : taken)
      spans.emplace_back(t.first(), t.end());
    std::sort(spans.begin(), spans.end());
    for (auto& s : spans) {
      if (!merged_.empty() && s.first <= merged_.back().second)
        merged_.back().second = std::max(merged_.back().second, s.second);
      else
        merged_.push_back(s);
    }
    // Gaps between merged intervals, clipped to [min, max + step), each with its candidate count.
    std::uint64_t cursor = min_;
    const std::uint64_t limit = max_ + step_;
    for (auto& [first, end] : merged_) {
      if (end <= cursor) continue;
      if (first >= limit) break;
      add_gap(cursor, std::min(first, limit));
      cursor = std::max(cursor, end);
    }
    if (cursor < limit) add_gap(cursor, limit);
  }

  std::uint64_t count() const noexcept { return total_; }

  bool is_free(const net::ipv4_cidr& c) const noexcept {
    if (c.prefix_length() != len_ || c.first() < min_ || c.first() > max_) return false;
    auto it =
        std::upper_bound(merged_.begin(), merged_.end(), std::pair{c.first(), ~std::uint64_t{0}});
    if (it != merged_.begin() && std::prev(it)->second > c.first()) return false;
    return it == merged_.end() || it->first >= c.end();
  }

  // The index-th free candidate in address order (index < count()).
  net::ipv4_cidr at(std::uint64_t index) const {
    for (const auto& g : gaps_) {
      if (index < g.count)
        return net::ipv4_cidr(
            net::ipv4_address(static_cast<std::uint32_t>(g.first + index * step_)), len_);
      index -= g.count;
    }
    fail(error_kind::invalid_argument, "free_subnets::at: index out of range");
  }

 private:
  struct gap {
    std::uint64_t first;  // first aligned candidate
    std::uint64_t count;
  };
  void add_gap(std::uint64_t from, std::uint64_t to) {
    std::uint64_t first = (from + step_ - 1) / step_ * step_;  // align up
    if (first + step_ > to) return;
    std::uint64_t n = (to - first) / step_;
    gaps_.push_back({first, n});
    total_ += n;
  }

  int len_;
  std::uint64_t step_, min_, max_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> merged_;
  std::vector<gap> gaps_;
  std::uint64_t total_ = 0;
};

// The previous subnet when it is still free and in range, else a random free one, else nullopt.
inline std::optional<net::ipv4_cidr> choose_subnet(const config::network_config& cfg,
                                                   std::span<const net::ipv4_cidr> taken,
                                                   std::optional<net::ipv4_cidr> previous,
                                                   prng& rng) {
  free_subnets free(cfg, taken);
  if (previous && free.is_free(*previous)) return previous;
  if (free.count() == 0) return std::nullopt;
  return free.at(rng.below(free.count()));
}

// As choose_subnet, but "out of subnets" is an error that says how full the network is.
inline net::ipv4_cidr allocate_subnet(const config::network_config& cfg,
                                      std::span<const net::ipv4_cidr> taken,
                                      std::optional<net::ipv4_cidr> previous, prng& rng) {
  if (auto s = choose_subnet(cfg, taken, previous, rng)) return *s;
  fail(error_kind::exhausted, "out of subnets: every /" + std::to_string(cfg.subnet_len) +
                                  " between SubnetMin " + cfg.subnet_min.to_string() +
                                  " and SubnetMax " + cfg.subnet_max.to_string() + " of " +
                                  (cfg.network ? cfg.network->to_string() : std::string("?")) +
                                  " is taken (" + std::to_string(taken.size()) + " leases)");
}

}  // namespace alivpc::lease
