# slkit — see README.md. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(CURDIR)/.cache
export SLKIT_CACHE := $(CACHE)
# Where fixtures, kernels and tools fetched by `make deps` live.
BIN := $(CURDIR)/bin
FUZZTIME ?= 30s

.PHONY: all deps build test test-unit test-swtpm test-vm fuzz bench demo clean

all: build

deps:
	@bash scripts/deps.sh

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/slkit ./cmd/slkit
	CGO_ENABLED=0 $(GO) build -trimpath -tags slkit_image -o $(BIN)/slkit-image ./cmd/slkit

# The test command of the README: installs what it needs, then runs every
# test — TPM tests on the in-process simulator and again on a fresh swtpm per
# test, and the QEMU rig tests.
test: deps
	@GO=$(GO) bash scripts/test.sh

fuzz: deps
	@bash scripts/fuzz.sh $(FUZZTIME)

bench: deps
	@bash scripts/bench.sh

demo: deps build
	@bash scripts/demo.sh

clean:
	rm -rf $(BIN)
