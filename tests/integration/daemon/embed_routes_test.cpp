// examples/embed_routes against a real etcd and alivpc-emulator: it takes a lease, keeps one
// route Available through its custom (audited) cloud policy, and leaves both in place on SIGTERM.
#include "daemon_cluster.hpp"

namespace alivpc_daemon_test {
namespace {

std::string embed_binary() {
  return std::string(ALIVPC_BINARY_DIR) + "/examples/embed_routes/embed_routes";
}

TEST(EmbedRoutesExample, TakesALeaseAndKeepsItsRouteThroughTheAuditedPolicy) {
  ASSERT_TRUE(std::filesystem::exists(embed_binary()))
      << embed_binary() << " is missing: build the embed_routes target";
  daemon_cluster c(with_nodes(1));
  alivpc_test::temp_dir dir("alivpc-embed");
  alivpc_test::daemon_process p(
      embed_binary(),
      {c.etcd().endpoint(), c.emulator().url() + "/metadata/i-node1", c.emulator().url(),
       daemon_cluster::public_ip(1), (dir.path() / "subnet.env").string()},
      {{{"ACCESS_KEY_ID", key_id}, {"ACCESS_KEY_SECRET", key_secret}},
       dir.path() / "out.log",
       {},
       false});
  ASSERT_TRUE(p.wait_for_log("ready: 10.24.", 20s)) << p.log();
  auto lease = c.lease_of(1);
  ASSERT_TRUE(lease) << "no lease in etcd";
  auto routes = c.routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].destination, lease->subnet);
  EXPECT_EQ(routes[0].instance, "i-node1");
  EXPECT_EQ(routes[0].status, "Available");
  // The custom policy saw the one write.
  EXPECT_EQ(p.count_in_log("audit: create " + lease->subnet + " -> i-node1 in " + routes[0].table),
            1u)
      << p.log();
  EXPECT_NE(read_text(dir.path() / "subnet.env").find("FLANNEL_NETWORK=10.24.0.0/16"),
            std::string::npos);

  // It keeps the route in place: a deleted one comes back (its reconcile period is 10 s).
  c.admin("POST", "/_emulator/delete-route?RouteTableId=" + routes[0].table +
                      "&DestinationCidrBlock=" + lease->subnet);
  EXPECT_TRUE(eventually([&] { return c.routes().size() == 1; }, 15s)) << p.log();
  EXPECT_EQ(p.count_in_log("audit: create " + lease->subnet), 2u);

  EXPECT_EQ(p.stop(), 0) << p.log();
  EXPECT_NE(p.log().find("calls: CreateRouteEntry 2"), std::string::npos) << p.log();
  EXPECT_TRUE(c.lease_of(1)) << "SIGTERM must leave the lease";
  EXPECT_EQ(c.routes().size(), 1u) << "SIGTERM must leave the route";
  EXPECT_EQ(p.log().find(key_secret), std::string::npos);
}

}  // namespace
}  // namespace alivpc_daemon_test
