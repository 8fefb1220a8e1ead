// Umbrella header: everything a program embedding alivpc's foundation needs.
// Heavier parts (HTTP, etcd, cloud, netlink, backend) have their own headers; include those.
#pragma once

#include <alivpc/config/network_config.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/lease/subnet_allocator.hpp>
#include <alivpc/lease/subnet_file.hpp>
#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/runtime/task.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/netlink/host_network.hpp>
