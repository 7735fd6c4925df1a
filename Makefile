# cnnctl: a convolutional-network trainer in C11.
# Plain GNU make. The user's CFLAGS/LDFLAGS are appended to ours, never replaced.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
PKG_CONFIG ?= pkg-config

CFLAGS  ?= -O2 -g
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags inih zlib libpng libjpeg libprotobuf-c)
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs inih zlib libpng libjpeg libprotobuf-c)
# ONNX export: onnx.proto as Debian's libonnx-dev ships it, compiled by
# protoc-c (protobuf-c-compiler) into build/gen at build time
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
PROTOC_C ?= protoc-c
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check)

# SANITIZE=1 builds everything with AddressSanitizer and UBSan, in its own
# folder: `make check SANITIZE=1` runs the whole suite under them.
# MPI=1: data-parallel training over processes (mpirun -np N ./cnnctl train
# ...), built with Open MPI's mpicc (Debian: libopenmpi-dev), objects in
# build/mpi. The default build has no MPI in it.
ifeq ($(MPI),1)
CC := mpicc
MPI_FLAGS := -DCNNCTL_MPI
endif

ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
B := build/san
BIN := build/san/cnnctl
else ifeq ($(MPI),1)
B := build/mpi
BIN := build/mpi/cnnctl
else ifneq ($(BLAS),)
B := build/$(BLAS)
BIN := build/$(BLAS)/cnnctl
else
B := build
BIN := cnnctl
endif

BASE_CFLAGS := -std=c11 -D_XOPEN_SOURCE=700 -Wall -Wextra -fopenmp -MMD -MP $(SAN_FLAGS) $(MPI_FLAGS)
BASE_LDFLAGS := -fopenmp $(SAN_FLAGS)
LIBS := $(DEPS_LIBS) -lm

# src/ by concern (README, "How the code is laid out"): cli/ the verbs,
# config/ the INI and its settings, data/ images and labels, train/ the
# loop, optimizers and files of a run, net/ the network and its layers,
# kernels/ GEMM, convolution and pooling kernels, util/ the rest. Headers
# are included by name: every folder is on the include path.
SRC_DIRS := $(sort $(dir $(wildcard src/*/*.c src/*/*.h)))
INCLUDES := $(patsubst %/,-I%,$(SRC_DIRS))
SRC := $(wildcard src/*/*.c)
OBJ := $(SRC:src/%.c=$(B)/%.o) $(B)/gen/onnx.pb-c.o
INCLUDES += -I$(B)/gen
TEST_SRC := $(filter-out tests/fuzz/%,$(wildcard tests/*.c tests/*/*.c))
TEST_OBJ := $(TEST_SRC:tests/%.c=$(B)/tests/%.o)

# The micro-kernels are compiled for their instruction sets only; gemm.c picks
# one at run time from what the CPU reports, so the binary runs anywhere.
$(B)/kernels/gemm_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
$(B)/kernels/gemm_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma
$(B)/kernels/conv_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
$(B)/kernels/conv_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma
$(B)/kernels/winograd_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
$(B)/kernels/winograd_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma
$(B)/kernels/pool_kernel_avx2.o:   KERNEL_FLAGS := -mavx2

# make bench BLAS=openblas|blis: the same benchmark with that library's
# cblas_sgemm beside ours (Debian's libopenblas-dev, libblis-dev), built in
# build/BLAS so the plain ./cnnctl never links a BLAS.
ifeq ($(BLAS),openblas)
BASE_CFLAGS += -DCNNCTL_BLAS_OPENBLAS $(shell $(PKG_CONFIG) --cflags openblas)
LIBS += $(shell $(PKG_CONFIG) --libs openblas)
else ifeq ($(BLAS),blis)
BASE_CFLAGS += -DCNNCTL_BLAS_BLIS -isystem /usr/include/x86_64-linux-gnu/blis-openmp
LIBS += -lblis
endif

.PHONY: fuzz-cli all check check-mpi bench demo fuzz install uninstall clean

all: $(BIN)

# ./cnnctl is the plain build, or a copy of build/mpi/cnnctl after
# make MPI=1; build/flavor says which, and changes with the choice, so the
# plain binary is relinked after an MPI build.
ifeq ($(BIN),cnnctl)
$(shell mkdir -p build; echo plain | cmp -s - build/flavor || echo plain > build/flavor)
FLAVOR_STAMP := build/flavor
endif
ifeq ($(MPI),1)
all: cnnctl-mpi-copy
cnnctl-mpi-copy: $(BIN)
	cp $(BIN) cnnctl
	echo mpi > build/flavor
.PHONY: cnnctl-mpi-copy
endif

$(BIN): $(B)/main.o $(OBJ) $(FLAVOR_STAMP)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS)

$(B)/gen/onnx.pb-c.c $(B)/gen/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(B)/gen
	$(PROTOC_C) --c_out=$(B)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(B)/gen/onnx.pb-c.o: $(B)/gen/onnx.pb-c.c
	$(CC) $(BASE_CFLAGS) $(DEPS_CFLAGS) -I$(B)/gen $(CFLAGS) -w -c -o $@ $<

$(B)/export/onnx_graph.o: $(B)/gen/onnx.pb-c.h

$(B)/%.o: src/%.c | $(B)/tests
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(DEPS_CFLAGS) $(INCLUDES) $(KERNEL_FLAGS) $(CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c | $(B)/tests
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(DEPS_CFLAGS) $(CHECK_CFLAGS) $(INCLUDES) -Itests $(CFLAGS) -c -o $@ $<

$(B)/tests:
	mkdir -p $@

$(B)/check_cnnctl: $(TEST_OBJ) $(OBJ)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# The tests run the real binary for the end-to-end cases; CNNCTL tells them where.
check: $(BIN) $(B)/check_cnnctl
	CNNCTL=$(CURDIR)/$(BIN) CNNCTL_CONFIGS=$(CURDIR)/configs SHARED_DATASETS=$(CURDIR)/../shared/datasets \
	    PROPERTY_COMBOS=$(if $(SANITIZE),1,2) \
	    TESTS_DIR=$(CURDIR)/tests CNNCTL_MPI=$(CNNCTL_MPI) ./$(B)/check_cnnctl

# The whole suite with the MPI tests on: 2 ranks of build/mpi/cnnctl (Open
# MPI: libopenmpi-dev, openmpi-bin) against the plain binary.
check-mpi:
	$(MAKE) MPI=1 build/mpi/cnnctl
	$(MAKE) check CNNCTL_MPI=$(CURDIR)/build/mpi/cnnctl

# The yardstick libraries misdetect Zen 5 and fall back to slower kernels;
# on an AVX-512 CPU they are told to run their AVX-512 ones (unless the
# caller chose), so the comparison is with each at its best.
bench: $(BIN)
	if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then \
	    export OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-SkylakeX} BLIS_ARCH_TYPE=$${BLIS_ARCH_TYPE:-0}; fi; \
	./$(BIN) bench

# libFuzzer (clang): one harness each for the config parser, the IDX loader,
# the checkpoint loader, the CIFAR reader and the image decoders (PNG, JPEG,
# PGM), FUZZ_SECONDS each, under ASan and UBSan. The
# seeds are the repository's own configs and malformed-input corpus; what
# the fuzzer learns goes to build/fuzz/NAME-corpus, crashes to build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SAN := address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 -std=c11 -D_XOPEN_SOURCE=700 -fsanitize=fuzzer-no-link,$(FUZZ_SAN) $(INCLUDES) $(DEPS_CFLAGS)
FUZZ_OBJ := $(SRC:src/%.c=build/fuzz/%.o) build/fuzz/gen/onnx.pb-c.o

build/fuzz/gen/onnx.pb-c.o: build/gen/onnx.pb-c.c
	mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -w -c -o $@ $<

build/fuzz/export/onnx_graph.o: build/gen/onnx.pb-c.h

build/fuzz/kernels/gemm_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
build/fuzz/kernels/gemm_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma
build/fuzz/kernels/conv_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
build/fuzz/kernels/conv_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma
build/fuzz/kernels/winograd_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
build/fuzz/kernels/winograd_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma
build/fuzz/kernels/pool_kernel_avx2.o:   KERNEL_FLAGS := -mavx2

build/fuzz/%.o: src/%.c
	mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(KERNEL_FLAGS) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz: build/fuzz/fuzz_config build/fuzz/fuzz_idx build/fuzz/fuzz_ckpt build/fuzz/fuzz_cifar build/fuzz/fuzz_image
	mkdir -p build/fuzz/config-corpus build/fuzz/idx-corpus build/fuzz/ckpt-corpus build/fuzz/cifar-corpus \
	    build/fuzz/image-corpus
	cd build/fuzz && ./fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	    config-corpus ../../configs ../../tests/corpus/config
	cd build/fuzz && ./fuzz_idx -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=4096 \
	    -print_final_stats=1 idx-corpus ../../tests/corpus/idx ../../tests/corpus/data
	cd build/fuzz && ./fuzz_ckpt -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -print_final_stats=1 \
	    ckpt-corpus ../../tests/corpus/ckpt
	cd build/fuzz && ./fuzz_cifar -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -print_final_stats=1 \
	    cifar-corpus ../../tests/corpus/cifar
	cd build/fuzz && ./fuzz_image -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -rss_limit_mb=4096 \
	    -print_final_stats=1 image-corpus ../../tests/corpus/images

# The command line fuzzed: random argument vectors for every verb, run
# against the sanitizer build (build/san/cnnctl) for FUZZ_SECONDS.
build/cli_fuzz: tests/fuzz/cli_fuzz.c
	mkdir -p build
	$(CC) -std=c11 -O2 -g -Wall -Wextra -o $@ $<

fuzz-cli: build/cli_fuzz
	$(MAKE) SANITIZE=1 build/san/cnnctl
	./build/cli_fuzz build/san/cnnctl build/cli-fuzz-work $(FUZZ_SECONDS) $(FUZZ_SEED)

# One command from a fresh checkout: build, fetch data (Debian's package when
# present), train the default config, evaluate the checkpoint it wrote.
demo: cnnctl
	sh datasets/fetch.sh fashion-mnist
	./cnnctl train --force configs/simple.ini
	./cnnctl eval runs/simple/model.ckpt

COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

install: cnnctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(COMPLETIONDIR)
	install -m 755 cnnctl $(DESTDIR)$(BINDIR)/cnnctl
	install -m 644 man/cnnctl.1 $(DESTDIR)$(MANDIR)/man1/cnnctl.1
	install -m 644 man/cnnctl.ini.5 $(DESTDIR)$(MANDIR)/man5/cnnctl.ini.5
	install -m 644 scripts/cnnctl-completion.bash $(DESTDIR)$(COMPLETIONDIR)/cnnctl

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cnnctl $(DESTDIR)$(MANDIR)/man1/cnnctl.1 $(DESTDIR)$(MANDIR)/man5/cnnctl.ini.5 \
	    $(DESTDIR)$(COMPLETIONDIR)/cnnctl

clean:
	rm -rf build cnnctl

-include $(OBJ:.o=.d) $(B)/main.d $(TEST_OBJ:.o=.d)
