# Thin wrappers around the go tool; see README.md.
GO ?= go
BIN := pay-up-to
export CGO_ENABLED := 0
GOFLAGS_BUILD := -trimpath -buildvcs=false -ldflags='-s -w -buildid='

.PHONY: build test integration bench fuzz demo golden check regtest regtest-demo

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

test:
	$(GO) test ./...
	@$(GO) test -count=1 -run='^$$' -v ./integration/ | grep '^integration:' || true

integration: build
	PAY_UP_TO=$(CURDIR)/$(BIN) $(GO) test -count=1 -v ./integration/

# Go benchmarks, the pipe-level load generator (1 and 16 calls in flight),
# then lightningd-level latency when LIGHTNINGD or PATH has a lightningd.
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem . ./amount/ ./jsonrpc/ ./hooks/
	$(GO) run ./integration/loadgen -bin ./$(BIN) -n 200000 -c 1
	$(GO) run ./integration/loadgen -bin ./$(BIN) -n 200000 -c 16
	PAY_UP_TO=$(CURDIR)/$(BIN) $(GO) test -run='^$$' -bench=. -benchtime=5000x ./integration/

FUZZTIME ?= 30s
FUZZ_TARGETS := ./amount/:FuzzParseMSat ./amount/:FuzzDecode ./amount/:FuzzBolt11Amount \
	./amount/:FuzzBolt12 ./jsonrpc/:FuzzReader .:FuzzPlugin \
	./hooks/:FuzzParseBudget ./hooks/:FuzzSend ./hooks/:FuzzRow
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) $${t%%:*} || exit 1; \
	done

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

golden:
	$(GO) test ./hooks/ -run TestGolden -update

check:
	$(GO) vet ./...
	@test -z "$$(gofmt -l . | grep -v testdata)" || { gofmt -l . | grep -v testdata; exit 1; }
	$(GO) test ./...
