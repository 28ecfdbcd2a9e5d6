# The two commands of the README, and a few more. CMake does the building;
# this file only strings the steps together.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST_ARGS ?=
VALGRIND   ?= valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
              --show-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no

.PHONY: all deps build check check-asan valgrind demo clean package package-check faults fuzz

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

# Unit and integration tests (each moto test starts its own moto on loopback).
# Tests labelled with LONG_LABELS (a ctest regular expression) are left out:
# `make faults` runs them.
LONG_LABELS ?= faults
check: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -LE '$(LONG_LABELS)' $(CTEST_ARGS)

# The same tests built with AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DFUGUE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) -LE '$(LONG_LABELS)' $(CTEST_ARGS)

# The SDK tests under valgrind: no definite or indirect leaks, no errors.
valgrind: build
	FUGUE_TEST_WRAPPER="$(VALGRIND)" FUGUE_VALGRIND="$(VALGRIND)" \
	  ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L valgrind $(CTEST_ARGS)

# The main job on the local default: moto as the AWS.
demo: build
	python3 scripts/demo.py --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(PKG_BUILD) $(PKG_RPM_BUILD) $(FUZZ_BUILD)

# --- packages -----------------------------------------------------------------
# The .deb and .rpm packages (cmake/Packaging.cmake) into $(PACKAGES). Each
# kind has its own build directory because the installed paths are compiled
# in (Debian's multiarch libdir, RPM's lib64); both use Debian's hardening
# flags. package-check installs the .debs on this machine (root), runs the
# installed Conductor against moto and removes everything again.
PKG_BUILD     ?= build-pkg
PKG_RPM_BUILD ?= build-pkg-rpm
PACKAGES      ?= $(PKG_BUILD)/packages
PKG_ENV        = DEB_BUILD_MAINT_OPTIONS=hardening=+all
PKG_CFLAGS     = $(shell $(PKG_ENV) dpkg-buildflags --get CFLAGS) $(shell $(PKG_ENV) dpkg-buildflags --get CPPFLAGS)
PKG_LDFLAGS    = $(shell $(PKG_ENV) dpkg-buildflags --get LDFLAGS)

# pkg_build DIR KIND: configure, build and cpack one kind into DIR/cpack.
define pkg_build
	cmake -S . -B $(1) -DFUGUE_PACKAGE=$(2) -DCMAKE_INSTALL_PREFIX=/usr \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUGUE_BUILD_TESTS=OFF \
	  -DCMAKE_C_FLAGS="$(PKG_CFLAGS)" -DCMAKE_EXE_LINKER_FLAGS="$(PKG_LDFLAGS)" \
	  -DCMAKE_SHARED_LINKER_FLAGS="$(PKG_LDFLAGS)" -DCMAKE_MODULE_LINKER_FLAGS="$(PKG_LDFLAGS)" $(CMAKE_ARGS)
	cmake --build $(1) -j$(JOBS)
	rm -rf $(1)/cpack
	cd $(1) && cpack -G $(2) -B "$$PWD/cpack"
endef

package: deps
	$(call pkg_build,$(PKG_BUILD),DEB)
	$(call pkg_build,$(PKG_RPM_BUILD),RPM)
	rm -rf $(PACKAGES) && mkdir -p $(PACKAGES)
	cp $(PKG_BUILD)/cpack/*.deb $(PKG_RPM_BUILD)/cpack/*.rpm $(PACKAGES)/
	@echo "packages in $(PACKAGES):" && ls -1 $(PACKAGES)

package-check: package
	tests/packaging/test_packages.sh $(PACKAGES)

# --- fault tests ---------------------------------------------------------------
# The long fault tests (ctest label "faults", tests/faults/), one at a time:
# each drives a 200-resource composition against its own moto.
faults: build
	ctest --test-dir $(BUILD) --output-on-failure -L faults $(CTEST_ARGS)

# --- benchmarks ------------------------------------------------------------------
# Figures, never a pass or fail on time (tests/bench/run_bench.py; what they
# measure and the last figures: docs/performance.md). Compositions of 100,
# 1,000 and 5,000 resources converged through tests/tools/aws_proxy.py (AWS's
# latency and rate limits in front of moto), and Ansible's amazon.aws modules
# side by side. Needs moto, boto3 and Debian's ansible. BENCH_ARGS passes
# options through, e.g. BENCH_ARGS="--sizes 100 --no-peer".
BENCH_ARGS ?=
.PHONY: bench
bench: build
	python3 tests/bench/run_bench.py --build $(BUILD) $(BENCH_ARGS)

# --- fuzzing ---------------------------------------------------------------------
# libFuzzer targets (tests/fuzz/) built with clang, ASan and UBSan in
# $(FUZZ_BUILD), each run for FUZZ_SECONDS on its corpus in the repository.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= xml json compiler protocol
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DFUGUE_FUZZ=ON -DFUGUE_BUILD_TESTS=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
