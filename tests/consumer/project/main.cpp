#include <alivpc/alivpc.hpp>

#include <cstdio>

int main() {
  auto cfg = alivpc::config::parse_network_config(
      R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})");
  alivpc::prng rng(1);
  auto subnet = alivpc::lease::allocate_subnet(cfg, {}, std::nullopt, rng);
  std::printf("%s\n", subnet.to_string().c_str());
  return cfg.network->contains(subnet) ? 0 : 1;
}
