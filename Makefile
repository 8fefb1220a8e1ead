# The two commands a newcomer needs (see README):
#   make demo   the main job: etcd + the AliCloud emulator + three flanneld_alivpc daemons
#   make test   every test (unit, property, integration, ASan/UBSan and TSan builds, fuzz smoke,
#               format check, clang-tidy over the headers)
# Both install what they need on Debian 12 (as root) and build in build/.

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: demo test side-jobs deps build deb asan tsan tsan-build tsan-run fuzz-build fuzz fuzz-smoke \
  fuzz-smoke-run bench soak mutation-check format format-check tidy tidy-ci tidy-ci-run clean

deps:
	@scripts/install-deps.sh

# Tests are compiled without optimisation (three times faster to build on 2 cores); the unit and
# property tests are instrumented with ASan + UBSan in this same build, and the daemon itself is
# always optimised (its footprint is a goal). `make bench` has its own Release build.
build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE= $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Debian packages (flanneld-alivpc, libalivpc-dev) from an optimised build of the daemon only,
# in $(DEB_BUILD)/packages; tests/deploy/package_test.sh checks them (lintian, dpkg-deb -x).
DEB_BUILD ?= build-deb
deb: deps
	cmake -S . -B $(DEB_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DALIVPC_BUILD_TESTS=OFF \
	  -DALIVPC_BUILD_SIM=OFF -DALIVPC_BUILD_BENCH=OFF
	cmake --build $(DEB_BUILD) -j $(JOBS) --target flanneld_alivpc
	cd $(DEB_BUILD) && cpack -B packages
	@ls $(DEB_BUILD)/packages/*.deb

demo: build
	scripts/demo.sh $(BUILD)

# The integration tests mostly wait (on etcd, the daemons, their timeouts), so the CPU-bound side
# jobs (the benchmarks' build, the TSan and fuzz builds, clang-tidy) run meanwhile at the lowest
# priority: they take what the tests leave and do not slow them (about 4 minutes off make test
# on 2 cores). Their output follows the tests'; either failing fails make test.
test: build
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -LE integration
	@nice -n 19 $(MAKE) --no-print-directory side-jobs > $(BUILD)/side-jobs.log 2>&1 & side=$$!; \
	  ctest --test-dir $(BUILD) --output-on-failure -L integration; tests=$$?; \
	  wait $$side; jobs=$$?; cat $(BUILD)/side-jobs.log; \
	  if [ $$jobs -ne 0 ]; then echo "make test: a side job failed (above)" >&2; fi; \
	  [ $$tests -eq 0 ] && [ $$jobs -eq 0 ]
	$(MAKE) --no-print-directory tsan-run
	$(MAKE) --no-print-directory fuzz-smoke-run
	$(MAKE) --no-print-directory format-check

# make test's CPU-bound jobs, one after another (see test).
side-jobs:
	cmake --build $(BUILD) -j $(JOBS) --target alivpc_bench
	$(MAKE) --no-print-directory tsan-build
	$(MAKE) --no-print-directory fuzz-build
	$(MAKE) --no-print-directory tidy-ci-run

# Everything (not only unit and property tests) under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALIVPC_SANITIZE=ON \
	  -DALIVPC_BUILD_BENCH=OFF -DALIVPC_TEST_KINDS="unit;property"
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# ThreadSanitizer over the tests that use threads (the HTTP tests run their server in a thread).
TSAN_BUILD ?= build-tsan
tsan: tsan-build tsan-run
tsan-build: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALIVPC_TSAN=ON \
	  -DALIVPC_BUILD_BENCH=OFF -DALIVPC_BUILD_EXAMPLES=OFF -DALIVPC_SIM_TOOLS=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target alivpc_integration_http
tsan-run:
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir $(TSAN_BUILD) --output-on-failure -R '^integration.http$$'

fuzz-build: deps
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALIVPC_BUILD_FUZZ=ON \
	  -DALIVPC_BUILD_TESTS=OFF -DALIVPC_BUILD_BENCH=OFF -DALIVPC_BUILD_EXAMPLES=OFF -DALIVPC_BUILD_SIM=ON \
	  -DALIVPC_SIM_TOOLS=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Every fuzz target for FUZZ_SECONDS (default 60), keeping new corpus entries.
FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build fuzz-smoke-run
fuzz-smoke-run:
	scripts/fuzz.sh $(FUZZ_BUILD) 10 --smoke

BENCH_BUILD ?= build-bench
bench: deps
	cmake -S . -B $(BENCH_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DALIVPC_BUILD_TESTS=OFF
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target alivpc_bench alivpc-emulator flanneld_alivpc \
	  alivpc-simulate
	$(BENCH_BUILD)/tests/bench/alivpc_bench
	scripts/scale-bench.sh $(BENCH_BUILD)/sim/alivpc-simulate

# The seed sweep: SOAK_WORLDS random fault worlds (default 1,000) of SOAK_HOURS virtual hours
# (default 48) through the real backend, optimised, one shard per core; then the shipped fault
# scenario over SOAK_SEEDS seeds (alivpc-simulate --seeds); 0 violations expected. `make test`
# runs four worlds and a four-seed parallel sweep (tests/simulation/sweep).
SOAK_BUILD ?= build-soak
SOAK_WORLDS ?= 1000
SOAK_HOURS ?= 48
SOAK_SEEDS ?= 1000
soak: deps
	cmake -S . -B $(SOAK_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DALIVPC_TEST_KINDS=simulation \
	  -DALIVPC_SANITIZE_TESTS=OFF -DALIVPC_BUILD_BENCH=OFF -DALIVPC_BUILD_EXAMPLES=OFF
	cmake --build $(SOAK_BUILD) -j $(JOBS) --target alivpc_simulation_sweep alivpc-simulate
	scripts/soak.sh $(SOAK_BUILD)/tests/alivpc_simulation_sweep $(SOAK_WORLDS) $(SOAK_HOURS) $(JOBS)
	$(SOAK_BUILD)/sim/alivpc-simulate --scenario sim/scenarios/faults.json --seeds $(SOAK_SEEDS) \
	  --strategy robust --jobs $(JOBS)
	$(SOAK_BUILD)/sim/alivpc-simulate --scenario sim/scenarios/faults.json --seeds $(SOAK_SEEDS) \
	  --strategy leader --jobs $(JOBS)
	$(MAKE) --no-print-directory mutation-check

# The simulator runs the production client: breaking its classification of TaskConflict must
# make a simulator property fail (scripts/mutation_check.sh; a Release build in a temp copy).
mutation-check: deps
	scripts/mutation_check.sh

format:
	git ls-files '*.hpp' '*.cpp' | xargs clang-format -i

format-check:
	git ls-files '*.hpp' '*.cpp' | xargs clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# clang-tidy (.clang-tidy) over every project .cpp file in $(BUILD)'s compile database, or only
# over TIDY_FILES (make tidy TIDY_FILES="a.cpp b.cpp"). All 52 files took 17 minutes on the 2
# shared cores: too long for make test, which runs tidy-ci instead.
TIDY_FILES ?=
tidy: build
	scripts/tidy.sh $(BUILD) $(TIDY_FILES)

# make test's share (a few minutes): five translation units that together include every header
# under include/ (the alivpc.hpp umbrella only includes the others), the simulator's headers except
# raw_request.hpp, and the daemon's (examples/flanneld_alivpc). sim/src/instances.cpp holds the
# simulated cluster's definitions, which simulate.cpp only declares (sim/CMakeLists.txt).
TIDY_CI_FILES = examples/flanneld_alivpc/main.cpp tests/property/lease/memory_store_test.cpp \
  sim/tools/simulate.cpp sim/src/instances.cpp sim/tools/emulator.cpp
tidy-ci: build tidy-ci-run
tidy-ci-run:
	scripts/tidy.sh $(BUILD) $(TIDY_CI_FILES)
