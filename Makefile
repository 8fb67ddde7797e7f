# grove — the two commands a fresh Debian 12 machine needs:
#   make demo   install what is missing, build, run the flagship sample
#   make test   install what is missing, build, run every test
# This file is a thin front over CMake; every target is incremental.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
# Debian packages the build and the tests need.
PACKAGES   := cmake make gcc pkg-config libuv1-dev libcmocka-dev valgrind clang-format
DEMO       ?= $(BUILD)/samples/pingpong

.PHONY: all deps build demo test unit asan valgrind cross-test bench format format-check clean

all: build

# deps installs missing packages when run as root; otherwise it prints the
# one apt-get line to run. Asks dpkg only, so a second run costs nothing.
deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "grove: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "grove: missing packages; run:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(DEMO)

# every test: unit suites, stress suites, samples as smoke tests
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) 2>&1

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS) 2>&1

# ASan + UBSan build of the unit tests
$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGV_SANITIZER=address \
	  -DGV_BUILD_BENCH=OFF -DGV_WERROR=ON $(CMAKE_ARGS)

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -L unit -j $(JOBS) 2>&1

# the unit tests under valgrind's memcheck
valgrind: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS) \
	  --overwrite MemoryCheckCommand=/usr/bin/valgrind \
	  --overwrite "MemoryCheckCommandOptions=--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	  -T memcheck 2>&1

# the aarch64 context switch, cross-compiled and run under qemu-user
CROSS_PACKAGES := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
cross-test:
	@$(MAKE) --no-print-directory deps PACKAGES="$(CROSS_PACKAGES)"
	mkdir -p $(BUILD)
	aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -Isched -static \
	  tests/test_context.c sched/context.c sched/switch_aarch64.S -lm \
	  -o $(BUILD)/test_context_aarch64
	qemu-aarch64 $(BUILD)/test_context_aarch64

bench:
	bench/run.sh $(BUILD)-bench

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check: deps
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
