# Wartelsuspas booth firmware. `make run` and `make test` are the two commands;
# see README.md.

GO        ?= go
PKGS      := ./...
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build deps test vet fmt-check unit bench drill cross deb run fuzz clean

all: build

## build: every command of the repository into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/wartel-kiosk ./firmware
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/wartel-gateway ./tools/centre/wartel-gateway
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./tools/field/cardsim ./tools/field/wartel-reader ./tools/testbed/simbooth ./tools/testbed/bench ./tools/field/wartel-flash

## deps: what the tests need from Debian (PostgreSQL), installed only when missing
deps:
	sh tools/release/ci/deps.sh

## test: vet, gofmt check and the whole suite under the race detector
test: deps vet fmt-check unit

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## fuzz: a short run of every fuzz target (FUZZTIME per target)
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## bench: one table of figures against their physical limits (Go benchmarks, the real
## binaries end to end, the gateway on SQLite and PostgreSQL, a simulated country of booths),
## also written to docs/benchmarks.md; one suite alone: make bench BENCH_ARGS='-only country'
## (the other suites' rows of the file are kept)
bench: deps
	$(GO) run ./tools/testbed/bench -out docs/benchmarks.md $(BENCH_ARGS)

## drill: the fault drills in full (power cut over 200 calls, network, disk full, reader,
## gateway restart, clock jump) with the real binaries; a short form runs in make test
drill: deps
	$(GO) run ./tools/testbed/drill $(DRILL_ARGS)

## cross: the firmware for the Raspberry Pi (armv6, armv7, arm64)
cross:
	@mkdir -p $(BIN)/cross
	@set -e; for t in arm:6 arm:7 arm64:; do \
	  arch=$${t%%:*}; arm=$${t##*:}; out=$(BIN)/cross/wartel-kiosk-linux-$$arch$${arm:+v$$arm}; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./firmware; \
	  ls -l $$out; \
	done

## deb: Debian packages of the firmware (armhf = GOARM=6, arm64) in bin/deb (docs/packaging.md)
DEBVERSION ?= $(shell echo '$(VERSION)' | sed -e 's/^v//' -e '/^[0-9][0-9]*\./!s/^/0.0.0+git/')
deb: cross
	@mkdir -p $(BIN)/deb
	@set -e; for t in armhf:armv6 arm64:arm64; do \
	  deb=$$($(GO) run ./tools/release/mkdeb -arch $${t%%:*} -binary $(BIN)/cross/wartel-kiosk-linux-$${t##*:} -version '$(DEBVERSION)' -out $(BIN)/deb); \
	  ls -l $$deb; \
	done

## run: simulated booths (the real daemons, the gateway on SQLite) with a live web page
## (docs/simbooth.md); e.g. make run BOOTHS=4, make run RUN_ARGS='-lang en'
BOOTHS ?= 2
run: build
	$(BIN)/simbooth -booths $(BOOTHS) $(RUN_ARGS)

clean:
	rm -rf $(BIN)
