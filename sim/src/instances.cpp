// The simulated cluster's code, compiled once for every file of a target that links an
// alivpc_sim_instances library (see "Compile time" in sim/include/alivpc/sim/cluster.hpp, and
// sim/CMakeLists.txt): sim::cluster's functions and run_scenario, and with them everything they
// instantiate (basic_backend over the simulated policies, the production cloud client, ...).
#define ALIVPC_SIM_INSTANCES
#include <alivpc/sim/scenario_runner.hpp>
