// Feeds arbitrary bytes to the rtnetlink datagram/attribute decoder: it must either decode or
// throw alivpc::error(parse); any other exception, crash or sanitizer report is a bug.
// Seeds in fuzz/corpus/netlink/ are real kernel replies (dumps, acks, errors, notifications)
// captured in a throwaway network namespace.
#include <alivpc/netlink/messages.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

namespace {

// Touch every decoded field so the sanitizers see each read.
std::size_t consume(const alivpc::netlink::decoded_message& m) {
  using namespace alivpc::netlink;
  std::size_t h = 0;
  if (auto* l = std::get_if<link_info>(&m)) h += l->name.size() + l->mtu + l->flags;
  if (auto* a = std::get_if<address_info>(&m)) h += a->address.value() + a->prefix_length;
  if (auto* r = std::get_if<route_info>(&m)) h += to_string(*r).size();
  if (auto* r = std::get_if<route_removed>(&m)) h += to_string(r->route).size();
  if (auto* k = std::get_if<kernel_ack>(&m)) h += k->detail.size() + k->error;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    std::size_t h = 0;
    for (const auto& m : alivpc::netlink::decode_datagram({data, size}))
      h += consume(m);
    if (h == 0xdeadbeefcafeULL) std::abort();  // keep h alive
  } catch (const alivpc::error& e) {
    if (e.kind() != alivpc::error_kind::parse) std::abort();
  }
  return 0;
}
