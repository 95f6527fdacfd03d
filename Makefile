# mymem - top-level Makefile.
#
#   make            build the module (for the VM's kernel), the library, the tests
#   make run        boot the VM, load the module, run the example, show statistics
#   make check      every test: library on the host, module + library in the VM
#                   on both Debian kernels, checkpatch and sparse
#   make vm         an interactive shell in the VM with the module loaded
#   make deps       install the Debian packages the above need (run by them)
#
# KVER selects the kernel: 6.1 (default, linux-image-amd64), 6.12
# (linux-image-6.12-amd64) or a full version such as 6.1.0-56-amd64.

KVER	?= 6.1
KVERS	:= 6.1 6.12
BUILD	:= $(CURDIR)/build
export BUILD

# Debian packages the build and the tests need.  `make deps` installs the
# missing ones; every other target depends on it.
DEB_PKGS := build-essential linux-image-amd64 linux-headers-amd64 \
	linux-image-6.12-amd64 linux-headers-6.12-amd64 qemu-system-x86 \
	busybox-static cpio kmod xz-utils linux-source-6.1 sparse gdb strace \
	python3 e2fsprogs zstd clang libclang-rt-14-dev valgrind gcc-multilib

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps kmod kmod-all ksft userlib selftests examples run vm check check-debug lint bench fuzz fuzz-long install clean

all: kmod userlib selftests examples

deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(BUILD) && touch $@

# kselftest_harness.h and kselftest.h are GPL-2.0-only: taken from Debian's
# linux-source-6.1 at build time, never copied into the repository.
KSFT_INC := $(BUILD)/ksft
export KSFT_INC
ksft: $(KSFT_INC)/kselftest_harness.h
$(KSFT_INC)/kselftest_harness.h: $(DEPS_STAMP)
	@mkdir -p $(KSFT_INC)
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(KSFT_INC) \
		--strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	@touch $@

# The module is built in a copy per kernel version so that the two builds
# never share object files.  A build with any compiler or modpost warning
# fails.  The leading + marks the recipes as recursive make, so that under
# make -jN the kernel's make shares our jobserver rather than warning.
kmod: $(DEPS_STAMP)
	+@tools/build-kmod $(KVER)

kmod-all: $(DEPS_STAMP)
	+@for v in $(KVERS); do tools/build-kmod $$v || exit 1; done

userlib: $(DEPS_STAMP) ksft
	$(MAKE) -C userlib BUILD=$(BUILD)

selftests: $(DEPS_STAMP) ksft userlib
	$(MAKE) -C selftests BUILD=$(BUILD) KSFT_INC=$(KSFT_INC)

# The example `make run` shows, linked statically with the library.
examples: $(BUILD)/examples/demo
$(BUILD)/examples/demo: examples/demo.c userlib/mymem.h kmod/uapi/mymem_dev.h userlib
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iuserlib -Ikmod/uapi \
		-o $@ $< $(BUILD)/userlib/libmymem.a -lpthread

# checkpatch --strict, sparse and a W=1 build against every kernel.
lint: $(DEPS_STAMP)
	tools/lint-kmod

# The main job: boot the VM, load the module, allocate through the
# library, show the statistics from the ioctl and from sysfs.
run: kmod examples
	qemu/vm-run --kernel $(KVER) --timeout 600 -- tools/demo

# An interactive shell in the VM with the module loaded.
vm: kmod
	qemu/vm-run --kernel $(KVER)

# Everything: lint, host tests, the VM suite on both kernels.  The last
# line is "N passed, N failed"; the exit status is non-zero on failure.
check: kmod-all userlib selftests
	tools/check

# The allocator benchmarks (bench/README.md): native workloads x allocators,
# then the VM part, then the report in bench/results/.  Not part of check:
# performance lives here, never in a timed test.
bench: kmod userlib
	$(MAKE) -C bench bench KVER=$(KVER)

# The library's libFuzzer harness (fuzz/README.md): a short run is part of
# make check; fuzz-long is the hour-long run.
FUZZ_SECONDS ?= 120
fuzz: $(DEPS_STAMP)
	$(MAKE) -C fuzz BUILD=$(BUILD) run SECONDS=$(FUZZ_SECONDS)
fuzz-long: $(DEPS_STAMP)
	$(MAKE) -C fuzz BUILD=$(BUILD) run SECONDS=3600

# The library for other programs: libraries, headers, pkg-config file.
PREFIX	?= /usr/local
install: userlib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 644 $(BUILD)/userlib/libmymem.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/userlib/libmymem.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 userlib/mymem.h kmod/uapi/mymem_dev.h $(DESTDIR)$(PREFIX)/include/
	sed 's|^prefix=.*|prefix=$(PREFIX)|' $(BUILD)/userlib/mymem.pc \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/mymem.pc

# The reliability lane's debug kernel (qemu/debug-kernel/): KASAN, KFENCE,
# lockdep, DEBUG_VM, DEBUG_PAGEALLOC, kmemleak, DEBUG_ATOMIC_SLEEP,
# DEBUG_LIST, UBSAN.  Built once into /var/cache/mymem (about 12 min of two
# idle cores), then the whole VM suite runs under it (about 20 min) with a
# kmemleak scan after rmmod.  Not in .ci/run: with a cold cache it does not
# fit CI's 90 minutes beside make check on a loaded machine.
check-debug: userlib selftests
	qemu/debug-kernel/build
	qemu/vm-run --kernel debug --timeout 5400 -- selftests/run_vm_tests.sh

clean:
	rm -rf $(BUILD)
