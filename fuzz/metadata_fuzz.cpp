// Fuzzes what the metadata client makes of the service's answers (cloud/metadata_client.hpp):
// the identity items, the RAM role listing and the role's credentials JSON. The input is split
// at "\n--\n" into the answers for instance-id, region-id, vpc-id, private-ipv4, zone-id,
// vswitch-id, vpc-cidr-block, the role listing and the credentials (missing parts: absent).
// Properties: only alivpc::error escapes; an accepted identity has plausible ids and a valid
// address; accepted credentials have a key id, a secret and a token.
#include <alivpc/cloud/metadata_client.hpp>
#include <alivpc/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

namespace {

namespace cloud = alivpc::cloud;

[[noreturn]] void bug(const char* what) {
  std::fprintf(stderr, "metadata_fuzz: %s\n", what);
  __builtin_trap();
}

template <class Fn>
void only_alivpc_errors(Fn fn) {
  try {
    fn();
  } catch (const alivpc::error&) {
  } catch (...) {
    bug("an exception other than alivpc::error escaped");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static constexpr std::array<const char*, 7> names{"instance-id",   "region-id", "vpc-id",
                                                    "private-ipv4",  "zone-id",   "vswitch-id",
                                                    "vpc-cidr-block"};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (!in.empty() && parts.size() < names.size() + 2) {
    auto cut = in.find("\n--\n");
    parts.push_back(in.substr(0, cut));
    in = cut == std::string_view::npos ? std::string_view() : in.substr(cut + 4);
  }
  std::map<std::string, std::string> items;
  for (std::size_t i = 0; i < names.size() && i < parts.size(); ++i)
    if (!(parts[i].size() == 1 && parts[i][0] == '!')) items[names[i]] = std::string(parts[i]);

  only_alivpc_errors([&] {
    auto id = cloud::parse_identity(items, "http://127.0.0.1:9");
    if (!cloud::detail::plausible_id(id.instance_id) ||
        !cloud::detail::plausible_id(id.region_id) || !cloud::detail::plausible_id(id.vpc_id))
      bug("identity with an implausible id");
    if (alivpc::net::ipv4_address::parse(id.private_ip.to_string()) != id.private_ip)
      bug("identity address does not round trip");
  });
  if (parts.size() > names.size()) {
    auto role = cloud::first_role_name(parts[names.size()]);
    if (!role.empty() && !cloud::detail::plausible_id(role)) bug("implausible role name");
  }
  if (parts.size() > names.size() + 1) {
    only_alivpc_errors([&] {
      auto c = cloud::parse_ram_credentials(parts[names.size() + 1]);
      if (c.access_key_id.empty() || c.access_key_secret.empty())
        bug("credentials without key id or secret");
    });
  }
  return 0;
}
