# slkit — see README.md. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(CURDIR)/.cache
export SLKIT_CACHE := $(CACHE)
# Where fixtures, kernels and tools fetched by `make deps` live.
BIN := $(CURDIR)/bin
FUZZTIME ?= 30s
FUZZJOBS ?= 1
SOAK_TRIALS ?= 50

.PHONY: all deps build test test-unit test-swtpm test-vm fuzz bench demo demo-measured soak clean

all: build

deps:
	@bash scripts/deps.sh

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/slkit ./cmd/slkit
	CGO_ENABLED=0 $(GO) build -trimpath -tags slkit_image -o $(BIN)/slkit-image ./cmd/slkit
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/slkit-rig ./rig/cmd/slkit-rig

# The test command of the README: installs what it needs, then runs every
# test — TPM tests on the in-process simulator and again on a fresh swtpm per
# test, and the QEMU rig tests.
test: deps
	@GO=$(GO) bash scripts/test.sh

fuzz: deps
	@bash scripts/fuzz.sh $(FUZZTIME) $(FUZZJOBS)

bench: deps
	@bash scripts/bench.sh

# The seed's flow on the OVMF rig in one run (scripts/demo.sh): a secret
# sealed to the dynamic launch survives EFI variable commits by kexec round
# trip and by firmware reboot; out/demo/summary.json.
demo: deps
	@GO=$(GO) bash scripts/demo.sh

# The measured launch (PCR 8/9) on SeaBIOS.
demo-measured: deps build
	@bash scripts/demo-measured.sh

# The power-cut test with SOAK_TRIALS cuts, and its counts per kill point.
soak: deps
	@GO=$(GO) SOAK_TRIALS=$(SOAK_TRIALS) bash scripts/soak.sh

clean:
	rm -rf $(BIN)
