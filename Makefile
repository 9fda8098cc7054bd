# make demo   train, test and picture PatchCore and PaDiM on real images,
#             then serve a replayed folder into a local ReductStore
# make test   build and run the whole test suite (CTest)
# make bench  print the speed figures
# Each target installs what is missing first (scripts/setup.sh).

BUILD ?= build
JOBS ?= $(shell nproc)
SHARED ?= $(abspath ../shared)
export VIGIL_SHARED ?= $(SHARED)

.PHONY: all deps deps-storage build test demo bench format format-check clean

all: build

deps:
	bash scripts/setup.sh

deps-storage:
	bash scripts/setup.sh --storage

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: deps-storage $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	bash scripts/check-format.sh
	ctest --test-dir $(BUILD) --output-on-failure -j 2 --timeout 900

demo: deps-storage $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	bash scripts/demo.sh $(BUILD)

bench: build
	$(BUILD)/vigil_bench

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check:
	bash scripts/check-format.sh

clean:
	rm -rf $(BUILD)
