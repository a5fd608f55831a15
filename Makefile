# Thin wrappers around the go tool; see README.md.
GO ?= go
BIN := pay-up-to
export CGO_ENABLED := 0

# The version baked in: the tag without its v when HEAD is tagged vX.Y.Z
# and the tree is clean; else VERSION+commit, -dirty after it when the tree
# has changes; VERSION alone without git. The same commit always gives
# the same version, so the same bytes.
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
TAG := $(shell git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null)
DIRTY := $(if $(COMMIT),$(shell git status --porcelain 2>/dev/null | grep -q . && echo dirty))
VERSION := $(shell cat VERSION)$(if $(COMMIT),+$(COMMIT))$(if $(DIRTY),-dirty)
ifneq ($(TAG),)
ifeq ($(DIRTY),)
VERSION := $(TAG:v%=%)
endif
endif
GOFLAGS_BUILD := -trimpath -buildvcs=false -ldflags='-s -w -buildid= -X main.version=$(VERSION)'

.PHONY: build test integration bench fuzz demo golden check regtest regtest-demo regtest-fleet fleet-demo release release-check

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

# dist/: a static binary per target, named with the version and target,
# and SHA256SUMS. GOFLAGS and the per-architecture levels are fixed so
# that no go env setting changes the bytes.
RELEASE_TARGETS := linux/amd64 linux/arm64 linux/arm
release:
	rm -rf dist
	mkdir dist
	@set -e; for t in $(RELEASE_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; name=$(BIN)-$(VERSION)-$$os-$$arch; \
		if [ $$arch = arm ]; then name=$${name}v7; fi; \
		echo "$(GO) build ... -o dist/$$name"; \
		GOFLAGS= GOOS=$$os GOARCH=$$arch GOAMD64=v1 GOARM64=v8.0 GOARM=7 \
			$(GO) build $(GOFLAGS_BUILD) -o dist/$$name .; \
	done
	cd dist && sha256sum $(BIN)-* > SHA256SUMS
	@cat dist/SHA256SUMS

# The release of the committed HEAD, built twice in two fresh clones, must
# give the same checksums; each binary must be static and for its target.
release-check:
	GO=$(GO) .ci/release-check

test:
	$(GO) test -timeout 30m ./...
	PAY_UP_TO_ETCD=v3.5.35 $(GO) test -count=1 ./hooks/fleet/
	@$(GO) test -count=1 -run='^$$' -v ./integration/ | grep '^integration:' || true

integration: build
	PAY_UP_TO=$(CURDIR)/$(BIN) $(GO) test -count=1 -v ./integration/

# Go benchmarks, the real binary's first start and restart against a
# stand-in lightningd with 100,000 and 1,000,000 payments in the window
# (seconds until the history is read, peak and final RSS, datastore keys
# and writes), the pipe-level load generator (1 and 16 calls in flight),
# then lightningd-level latency when LIGHTNINGD or PATH has a lightningd
# (a commando payment over two hops: 40 of them).
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem ./amount/ ./jsonrpc/ ./hooks/
	$(GO) test -run='^$$' -bench=HookRound -benchmem .
	$(GO) test -run='^$$' -bench=Confirm -benchtime=3000x ./hooks/fleet/
	$(GO) test -run='^$$' -bench=Week -benchtime=1x ./hooks/fleet/
	for n in 100000 1000000; do PAY_UP_TO_BIN=$(CURDIR)/$(BIN) PAY_UP_TO_BENCH_N=$$n $(GO) test -run='^$$' -bench=Restart -benchtime=1x . || exit 1; done
	$(GO) run ./integration/loadgen -bin ./$(BIN) -n 200000 -c 1
	$(GO) run ./integration/loadgen -bin ./$(BIN) -n 200000 -c 16
	PAY_UP_TO=$(CURDIR)/$(BIN) $(GO) test -run='^$$' -bench='Getinfo|Refusal' -benchtime=5000x ./integration/
	PAY_UP_TO=$(CURDIR)/$(BIN) $(GO) test -run='^$$' -bench=CommandoPay -benchtime=40x ./integration/

FUZZTIME ?= 30s
# Every Fuzz function of every package, found by go test -list, so that a
# new target is fuzzed without being listed here.
fuzz:
	@for p in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list='^Fuzz' $$p | grep '^Fuzz'); do \
			echo "== $$f $$p ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$p || exit 1; \
		done; \
	done

# The demo plays lightningd, which starts plugins with LIGHTNINGD_PLUGIN=1.
demo: build
	$(GO) run ./integration/demo -bin ./$(BIN) testdata/session-v26.06.in

# A regtest network to play with (btcd and N nodes in a line, pay-up-to on
# l1), until Ctrl-C; regtest-demo plays a short session on one and exits.
N ?= 3
LIMIT ?= 0.001btc
regtest: build
	$(GO) run ./integration/regtest -n $(N) -limit $(LIMIT) -plugin ./$(BIN)

regtest-demo: build
	$(GO) run ./integration/regtest -demo -plugin ./$(BIN)

# The same with etcd and pay-up-to on l1 and l2 in one fleet (BUDGET=…);
# fleet-demo plays a session where both count against one budget.
BUDGET ?= 0.2btc/1d
regtest-fleet: build
	$(GO) run ./integration/regtest -fleet -limit $(LIMIT) -budget $(BUDGET) -plugin ./$(BIN)

fleet-demo: build
	$(GO) run ./integration/regtest -demo -fleet -plugin ./$(BIN)

golden:
	$(GO) test . -run TestGolden -update

check:
	$(GO) vet ./...
	@test -z "$$(gofmt -l . | grep -v testdata)" || { gofmt -l . | grep -v testdata; exit 1; }
	$(GO) test -timeout 30m ./...
