# The two commands of the README, and a few more. CMake does the building;
# this file only strings the steps together.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST_ARGS ?=
VALGRIND   ?= valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
              --show-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no

.PHONY: all deps build check check-asan valgrind demo clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

# Unit and integration tests (each moto test starts its own moto on loopback).
check: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) $(CTEST_ARGS)

# The same tests built with AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DFUGUE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) $(CTEST_ARGS)

# The SDK tests under valgrind: no definite or indirect leaks, no errors.
valgrind: build
	FUGUE_TEST_WRAPPER="$(VALGRIND)" FUGUE_VALGRIND="$(VALGRIND)" \
	  ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L valgrind $(CTEST_ARGS)

# The main job on the local default: moto as the AWS.
demo: build
	python3 scripts/demo.py --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
