# cnnctl: a convolutional-network trainer in C11.
# Plain GNU make. The user's CFLAGS/LDFLAGS are appended to ours, never replaced.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
PKG_CONFIG ?= pkg-config

CFLAGS  ?= -O2 -g
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags inih zlib)
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs inih zlib)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check)

# SANITIZE=1 builds everything with AddressSanitizer and UBSan, in its own
# folder: `make check SANITIZE=1` runs the whole suite under them.
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
B := build/san
BIN := build/san/cnnctl
else
B := build
BIN := cnnctl
endif

BASE_CFLAGS := -std=c11 -D_XOPEN_SOURCE=700 -Wall -Wextra -fopenmp -MMD -MP $(SAN_FLAGS)
BASE_LDFLAGS := -fopenmp $(SAN_FLAGS)
LIBS := $(DEPS_LIBS) -lm

SRC := $(filter-out src/main.c,$(wildcard src/*.c))
OBJ := $(SRC:src/%.c=$(B)/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(B)/tests/%.o)

# The micro-kernels are compiled for their instruction sets only; gemm.c picks
# one at run time from what the CPU reports, so the binary runs anywhere.
$(B)/gemm_kernel_avx512.o: KERNEL_FLAGS := -mavx512f -mfma -mavx2
$(B)/gemm_kernel_avx2.o:   KERNEL_FLAGS := -mavx2 -mfma

.PHONY: all check demo install uninstall clean

all: $(BIN)

$(BIN): $(B)/main.o $(OBJ)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: src/%.c | $(B)/tests
	$(CC) $(BASE_CFLAGS) $(DEPS_CFLAGS) $(KERNEL_FLAGS) $(CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c | $(B)/tests
	$(CC) $(BASE_CFLAGS) $(DEPS_CFLAGS) $(CHECK_CFLAGS) -Isrc $(CFLAGS) -c -o $@ $<

$(B)/tests:
	mkdir -p $@

$(B)/check_cnnctl: $(TEST_OBJ) $(OBJ)
	$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# The tests run the real binary for the end-to-end cases; CNNCTL tells them where.
check: $(BIN) $(B)/check_cnnctl
	CNNCTL=$(CURDIR)/$(BIN) CNNCTL_CONFIGS=$(CURDIR)/configs SHARED_DATASETS=$(CURDIR)/../shared/datasets \
	    TESTS_DIR=$(CURDIR)/tests ./$(B)/check_cnnctl

# One command from a fresh checkout: build, fetch data (Debian's package when
# present), train the default config, evaluate the checkpoint it wrote.
demo: cnnctl
	sh datasets/fetch.sh fashion-mnist
	./cnnctl train configs/simple.ini
	./cnnctl eval runs/simple/model.ckpt

install: cnnctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 cnnctl $(DESTDIR)$(BINDIR)/cnnctl
	install -m 644 man/cnnctl.1 $(DESTDIR)$(MANDIR)/man1/cnnctl.1
	install -m 644 man/cnnctl.ini.5 $(DESTDIR)$(MANDIR)/man5/cnnctl.ini.5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cnnctl $(DESTDIR)$(MANDIR)/man1/cnnctl.1 $(DESTDIR)$(MANDIR)/man5/cnnctl.ini.5

clean:
	rm -rf build cnnctl

-include $(OBJ:.o=.d) $(B)/main.d $(TEST_OBJ:.o=.d)
