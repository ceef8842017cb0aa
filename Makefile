# Developer and CI entry points. `make test` is what CI runs (see .ci/run).
GO       ?= go
# canhgac version prints this; see Version in internal/cli/cli.go.
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 20s

.PHONY: run test build bench fuzz fmt lint

# Serve on embedded SQLite in ./canhgac-data; the first start prints the admin login and URL.
run:
	$(GO) run ./cmd/canhgac serve

# Storage tests also run on PostgreSQL when CANHGAC_TEST_POSTGRES is set
# (eval "$$(.ci/pg-start --export)"); with CI set they insist on it.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	# Defacement analysis over all shared pages and the full injection
	# matrix (the -race run above checks a sample).
	$(GO) test -count=1 -run 'Stealth|Cloaking|Shared|Legitimate' ./internal/webmon/page

build:
	$(GO) build -trimpath -ldflags "-X canhgac/internal/cli.Version=$(VERSION)" -o canhgac ./cmd/canhgac

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./...

# Runs every Fuzz function for FUZZTIME each (go test -fuzz takes one target at a time).
fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$fn in $$(dirname $$f)"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$(dirname $$f) || exit 1; \
	  done; \
	done

fmt:
	gofmt -w cmd internal

# Fails if any file needs gofmt, then vets.
lint:
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
