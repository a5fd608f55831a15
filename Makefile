# Thin wrappers around the go tool; see README.md.
GO ?= go
BIN := pay-up-to
export CGO_ENABLED := 0
GOFLAGS_BUILD := -trimpath -buildvcs=false -ldflags='-s -w -buildid='

.PHONY: build test integration bench fuzz demo golden check

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) .

test:
	$(GO) test ./...

integration: build
	PAY_UP_TO=$(CURDIR)/$(BIN) $(GO) test -count=1 -v ./integration/

bench: build
	$(GO) test -run='^$$' -bench=. -benchmem ./amount/ ./jsonrpc/ ./hooks/
	$(GO) run ./integration/loadgen -bin ./$(BIN)

FUZZTIME ?= 30s
FUZZ_TARGETS := ./amount/:FuzzParseMSat ./amount/:FuzzDecode ./amount/:FuzzBolt11Amount \
	./amount/:FuzzBolt12 ./jsonrpc/:FuzzReader .:FuzzPlugin
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) $${t%%:*} || exit 1; \
	done

demo: build
	$(GO) run ./integration/demo -bin ./$(BIN) testdata/session-v26.06.in

golden:
	$(GO) test ./hooks/ -run TestGolden -update

check:
	$(GO) vet ./...
	@test -z "$$(gofmt -l . | grep -v testdata)" || { gofmt -l . | grep -v testdata; exit 1; }
	$(GO) test ./...
