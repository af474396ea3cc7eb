# vgt: thin wrapper over meson/ninja. See README.md.
#   make            install missing packages (as root), configure, build
#   make demo       build, then run the main job on the simulated platform
#   make check      build and run every test: normal, ASan+UBSan, fuzz
#   make cross-arm64  cross-build the programs for aarch64
#   make check-cross-arm64  run the aarch64 vgt under qemu-user (TAP)
#   make check-xen  the real-Xen tier: Xen 4.17 under QEMU, checks from guests
#   make install    build, then install under $(DESTDIR)$(PREFIX)
#   make deb        build the Debian package (../vgt_*.deb)

BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_FUZZ  ?= build-fuzz
BUILD_ARM64 ?= build-arm64
FUZZ_SECONDS ?= 10
MESON_TEST_ARGS ?= --print-errorlogs
PREFIX      ?= /usr/local
MESON_ARGS  ?=
DESTDIR     ?=
NINJA := ninja

.PHONY: all deps build demo check check-unit check-asan check-fuzz fuzz-long fuzz-coverage cross-arm64 check-cross-arm64 check-xen install deb clean

all: build

deps:
	@sh .ci/install-deps

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_ARGS)

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

demo: build
	./$(BUILD)/tools/vgt demo

check: check-unit check-asan check-fuzz
	@sh .ci/summary $(BUILD) $(BUILD_ASAN)

check-unit: build
	sh .ci/test-retry $(BUILD) $(MESON_TEST_ARGS)

$(BUILD_ASAN)/build.ninja: | deps
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fno-sanitize-recover=undefined

check-asan: deps $(BUILD_ASAN)/build.ninja
	$(NINJA) -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    sh .ci/test-retry $(BUILD_ASAN) $(MESON_TEST_ARGS) --timeout-multiplier 3 --no-suite pkg

$(BUILD_FUZZ)/build.ninja: | deps
	CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fsanitize=fuzzer-no-link

# Each libFuzzer target runs for FUZZ_SECONDS from its seed corpus.
check-fuzz: deps
	@if command -v clang >/dev/null; then \
	    $(MAKE) --no-print-directory $(BUILD_FUZZ)/build.ninja && \
	    $(NINJA) -C $(BUILD_FUZZ) && \
	    sh .ci/run-fuzz $(BUILD_FUZZ) $(FUZZ_SECONDS); \
	else echo "clang not found: fuzz targets skipped"; fi

# The long campaign: every target FUZZ_SECONDS (600 unless given) from a
# work corpus that grows across runs (see .ci/fuzz-long, docs/security.md).
fuzz-long: deps $(BUILD_FUZZ)/build.ninja
	$(NINJA) -C $(BUILD_FUZZ)
	sh .ci/fuzz-long $(BUILD_FUZZ) \
	    $(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),600)

# Line coverage of the guest- and user-facing files under the corpora
# (clang source-based coverage, build-cov; see docs/security.md).
fuzz-coverage: deps
	sh .ci/fuzz-coverage build-cov $(BUILD_FUZZ)

cross-arm64:
	sh cross/setup-arm64 $(BUILD_ARM64)
	$(NINJA) -C $(BUILD_ARM64) tools/vgtd tools/vgt

# vgt assign dt on the shipped QEMU trees and the vGPU core, on aarch64
# under qemu-user, compared with $(BUILD)'s output when it exists.
check-cross-arm64: cross-arm64
	sh cross/check-arm64 $(BUILD_ARM64) $(BUILD)

# Xen 4.17 under QEMU (TCG): on arm64 (Xen 4.17 from Debian's source, built with
# IOREQ_SERVER, the test device from a guest, served by $(BUILD_ARM64)'s
# vgtd) and on x86 (Debian's Xen, a PV dom0 and HVM guests served by
# $(BUILD)'s vgtd --gpu sim); images cached in $(VGT_XEN_CACHE) or
# ~/.cache/vgt-xen, built once as root (tests/xen/check-xen.sh). 8 min
# on 2 quiet cores, 90 min at load 11-17: not part of make check. A failed cross build
# leaves the arm64 checks skipped, with the reason.
check-xen: build
	-$(MAKE) cross-arm64
	BUILD_ARM64=$(BUILD_ARM64) sh tests/xen/check-xen.sh $(BUILD)

# The build directory follows PREFIX (unit files name the binaries' path).
install: deps $(BUILD)/build.ninja
	meson configure $(BUILD) --prefix=$(PREFIX)
	$(NINJA) -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

deb: deps
	dpkg-buildpackage -us -uc -b

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_ARM64) $(BUILD_ARM64)-sysroot
