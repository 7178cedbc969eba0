# Makefile — builds liblinfer.a, the `linfer` CLI, the cmocka tests, the CUDA backend (when nvcc
# is present), sanitizer builds and libFuzzer targets.
#
#   make run             README command 1: install deps, fetch SmolLM2, build, generate (GPU if present)
#   make check           README command 2: install deps, fetch test data, build (CUDA too), run the
#                        tests, the same tests under ASan+UBSan, and short fuzz runs
#   make                 build build/linfer (CPU + CUDA if nvcc is found)
#   make test            build and run the unit/integration tests (CPU)
#   make asan-test       the same tests under ASan+UBSan (CPU-only build in build-asan/)
#   make fuzz            libFuzzer targets in build-fuzz/
#   make CUDA=0          build without the CUDA backend
#
BUILD   ?= build
CC      ?= cc
CUDA_HOME ?= /usr/local/cuda
NVCC    ?= $(shell command -v nvcc 2>/dev/null || echo $(CUDA_HOME)/bin/nvcc)
HAVE_NVCC := $(shell test -x "$(NVCC)" && echo 1 || echo 0)
CUDA    ?= $(HAVE_NVCC)
SAN     ?= 0

CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wno-format-truncation -Wno-unused-parameter -fopenmp -mavx2 -mfma -mf16c
LDLIBS  += -lopenblas -lcjson -lpcre2-8 -lutf8proc -lgomp -lm -lpthread -ldl
ifeq ($(SAN),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  CUDA := 0
endif

LIB_SRC := $(wildcard src/core/*.c src/model/*.c src/tokenizer/*.c src/engine/*.c src/cpu/*.c src/perf/*.c src/dist/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
CU_SRC  := $(wildcard src/cuda/*.cu)
TEST_SRC := $(wildcard tests/test_*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

ifeq ($(CUDA),1)
  CPPFLAGS += -DLINFER_HAVE_CUDA=1 -I$(CUDA_HOME)/include
  CU_OBJ := $(CU_SRC:%.cu=$(BUILD)/%.o)
  NVCCFLAGS ?= -O3 -std=c++17 -Iinclude -Isrc -DLINFER_HAVE_CUDA=1 \
     -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_80,code=sm_80 -Xcompiler -fPIC -lineinfo
  LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublasLt -lcublas -lcudart -lstdc++
else
  CU_OBJ :=
endif

.DEFAULT_GOAL := all
.PHONY: all test asan-test fuzz fuzz-short clean deps data run check
deps:
	@bash scripts/setup.sh

data:
	@bash scripts/fetch_model.sh
	@bash scripts/fetch_vocab.sh

run: deps
	@bash scripts/fetch_model.sh
	@$(MAKE) --no-print-directory all
	./$(BUILD)/linfer generate -n 128

check: deps data
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory cuda-test-build lab
	@$(MAKE) --no-print-directory cuda-test
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory asan-test
	@$(MAKE) --no-print-directory fuzz-short

all: $(BUILD)/linfer

$(BUILD)/liblinfer.a: $(LIB_OBJ) $(CU_OBJ)
	@mkdir -p $(@D)
	ar rcs $@ $^

$(BUILD)/linfer: $(CLI_OBJ) $(BUILD)/liblinfer.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/liblinfer.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/liblinfer.a tests/test_util.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a -lcmocka $(LDLIBS)

# Tests run from the repo root; each prints its cmocka summary. A test needing the SmolLM2
# model skips itself when models/ has not been fetched (scripts/fetch_model.sh does that).
test: $(TEST_BIN) $(BUILD)/linfer
	@bash tests/run_tests.sh $(BUILD)

asan-test:
	$(MAKE) SAN=1 BUILD=build-asan test

fuzz:
	$(MAKE) -f fuzz/Makefile all

fuzz-short:
	$(MAKE) -f fuzz/Makefile fuzz-short FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

clean:
	rm -rf build build-asan build-fuzz

# CUDA kernel tests, lab programs and the device bundle (owned by the CUDA backend)
-include src/cuda/cuda.mk

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
