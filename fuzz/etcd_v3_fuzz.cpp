// Any bytes as an etcd v3 gateway answer: every parser either returns or throws alivpc::error;
// the watch decoder gets the bytes split at a data-chosen point (chunk boundaries are arbitrary).
#include <alivpc/lease/detail/etcd_json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
const std::string ctx = "etcd v3 POST /v3/fuzz on http://127.0.0.1:2379";

template <class Fn>
void guarded(Fn fn) {
  try {
    fn();
  } catch (const alivpc::error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alivpc::lease::detail;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  guarded([&] {
    for (const auto& kv : parse_v3_range(in, ctx).kvs)
      guarded([&] { (void)lease_from_entry(kv.key, "/coreos.com/network/subnets/", kv.value); });
  });
  guarded([&] { (void)parse_v3_grant(in, ctx); });
  guarded([&] { (void)parse_v3_keepalive(in, ctx); });
  guarded([&] { (void)parse_v3_timetolive(in, ctx); });
  guarded([&] { (void)parse_v3_txn(in, ctx); });
  guarded([&] { throw_v3_error(500, in, ctx); });
  guarded([&] {
    v3_watch_decoder d(ctx, 1 << 20);
    const std::size_t cut = size ? data[0] % (size + 1) : 0;
    (void)d.feed(in.substr(0, cut));
    (void)d.feed(in.substr(cut));
    (void)d.finish();
  });
  return 0;
}
