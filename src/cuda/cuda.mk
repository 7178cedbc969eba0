# cuda.mk — CUDA kernel tests and the device bundle (included by the Makefile).
#
#   make cuda-test       build $(BUILD)/tests/cuda/test_cuda_kernels and test_cuda_calib (calibrate's
#                        fp8 GEMM against the CPU) and run them (on a machine without a GPU they
#                        check the clean "no CUDA device" errors and skip)
#   make device-bundle   build into build-dev/ (linfer, the CUDA kernel test, the CPU tests) and copy
#                        the non-system shared libraries they need into build-dev/lib, so that the
#                        device machine (CUDA toolkit, none of Debian's -dev libraries) can run them:
#                        scripts/device_run.sh sets LD_LIBRARY_PATH=build-dev/lib.
CUDA_TEST_BIN := $(BUILD)/tests/cuda/test_cuda_kernels
CUDA_CALIB_TEST_BIN := $(BUILD)/tests/cuda/test_cuda_calib
CUDA_HDRS := $(wildcard src/cuda/*.h) src/perf/calibrate.h src/model/model.h src/core/dtype.h src/core/error.h src/engine/backend.h src/cpu/kernels.h include/linfer.h

.PHONY: cuda-test cuda-test-build device-bundle

# .cu objects have no generated dependency files: rebuild them when a header they use changes
ifeq ($(CUDA),1)
$(CU_OBJ): $(CUDA_HDRS)

cuda-test-build: $(CUDA_TEST_BIN) $(CUDA_CALIB_TEST_BIN) $(BUILD)/tests/cuda/test_hf_device $(BUILD)/tests/cuda/test_cuda_vs_cpu \
                 $(BUILD)/tests/cuda/test_tp $(BUILD)/tests/cuda/test_profile_cuda

$(BUILD)/tests/cuda/test_profile_cuda: tests/cuda/test_profile_cuda.c $(BUILD)/liblinfer.a $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)

$(CUDA_CALIB_TEST_BIN): tests/cuda/test_cuda_calib.c $(BUILD)/liblinfer.a $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CUDA_HOME)/include $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)

$(BUILD)/tests/cuda/test_tp: tests/cuda/test_tp.c $(BUILD)/liblinfer.a $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CUDA_HOME)/include $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)

$(BUILD)/tests/cuda/test_cuda_vs_cpu: tests/cuda/test_cuda_vs_cpu.c $(BUILD)/liblinfer.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)

$(BUILD)/tests/cuda/test_hf_device: tests/cuda/test_hf_device.c $(BUILD)/liblinfer.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)

$(CUDA_TEST_BIN): tests/cuda/test_cuda_kernels.c $(BUILD)/liblinfer.a $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CUDA_HOME)/include $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)

cuda-test: $(CUDA_TEST_BIN) $(CUDA_CALIB_TEST_BIN)
	$(CUDA_TEST_BIN)
	$(CUDA_CALIB_TEST_BIN)
else
cuda-test cuda-test-build:
	@echo "cuda-test: CUDA=0 (nvcc not found); nothing to build"
endif

# Libraries the device machine lacks; everything else (libc, libstdc++, CUDA) is there.
BUNDLE_LIBS_RE := lib(openblas|gfortran|cjson|pcre2-8|utf8proc|cmocka|gomp|quadmath)
device-bundle:
	$(MAKE) BUILD=build-dev all cuda-test-build lab
	-$(MAKE) BUILD=build-dev $(patsubst $(BUILD)/%,build-dev/%,$(TEST_BIN))
	rm -rf build-dev/lib && mkdir -p build-dev/lib
	@for b in build-dev/linfer build-dev/tests/cuda/test_cuda_kernels build-dev/tests/test_*; do \
	  [ -x "$$b" ] && ldd "$$b" | awk '$$2 == "=>" && $$3 ~ /^\// {print $$3}'; \
	done | sort -u | grep -E '/$(BUNDLE_LIBS_RE)[^/]*$$' | while read -r l; do \
	  cp -L "$$l" build-dev/lib/ && strip --strip-unneeded build-dev/lib/$$(basename "$$l") 2>/dev/null; \
	  echo "bundled $$l"; done
	@# the shared libraries travel compressed (the working tree that travels is limited to 64 MiB)
	@for f in build-dev/lib/*; do xz -T0 -6 -f "$$f"; done
	du -sh build-dev/lib build-dev/linfer build-dev/tests

# Kernel lab (lab/*.c): programs that time the shipped kernels' variants (never copies of them)
LAB_BIN := $(patsubst lab/%.c,$(BUILD)/lab/%,$(wildcard lab/*.c))
.PHONY: lab
ifeq ($(CUDA),1)
lab: $(LAB_BIN)
$(BUILD)/lab/%: lab/%.c $(BUILD)/liblinfer.a $(CUDA_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CUDA_HOME)/include $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblinfer.a $(LDLIBS)
else
lab:
	@echo "lab: CUDA=0 (nvcc not found); nothing to build"
endif
