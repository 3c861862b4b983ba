# signalgate — two commands on a fresh Debian machine:
#   make run    install what is missing, build, serve on :8080 with the default policy
#   make test   everything: vet, Go tests (race) against a real PostgreSQL, Rego tests,
#               UI unit tests and browser tests against a real server
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO          ?= go
OPA_VERSION := $(shell awk '$$1 == "github.com/open-policy-agent/opa" {print $$2}' go.mod)
TOOLS       := $(CURDIR)/.tools/bin
OPA         := $(TOOLS)/opa-$(OPA_VERSION)
BIN         := $(CURDIR)/bin
PG_BIN      := $(shell ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
WEB         := web-admin
CHROMIUM    := /usr/bin/chromium

.PHONY: run test build build-api ui uitest e2e deps postgres node chromium vet gotest fuzz faulttest regotest \
	bench bench-audit bench-shadow bench-schedule bench-engine clean-data

## deps: install what the machine lacks (PostgreSQL from Debian's packages).
deps: postgres

postgres:
	@if command -v initdb >/dev/null 2>&1 || [ -n "$(PG_BIN)" ]; then \
		echo "PostgreSQL found: $${PG_BIN:-$(PG_BIN)}"; \
	else \
		echo "PostgreSQL not found: installing it with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	fi

## node: Node.js and npm, which build the admin UI. Vite 8 needs Node 20.19
## or newer (or 22.12+); Debian 12's own nodejs is 18, too old for it.
node:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "Node.js or npm not found: installing Debian's nodejs and npm with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null || { \
			echo "could not install Node.js: install Node.js 20.19+ with npm (https://nodejs.org)," \
				"or run 'make build-api' for a server without the admin UI" >&2; exit 1; }; \
	fi
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a === 20 && b >= 19 || a === 22 && b >= 12 || a > 22 ? 0 : 1)' || { \
		echo "Node.js $$(node --version) is too old for the admin UI: install Node.js 20.19+ or 22.12+" \
			"(https://nodejs.org, or NodeSource's Debian packages)," \
			"or run 'make build-api' for a server without the admin UI" >&2; exit 1; }
	@echo "Node.js found: $$(node --version), npm $$(npm --version)"

# npm ci only when node_modules is missing or older than the lock file: it
# wipes and reinstalls everything, which takes a while.
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json | node
	cd $(WEB) && npm ci --no-audit --no-fund

## ui: the admin UI, type-checked and bundled into web-admin/dist.
ui: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm run build

## build: the server with the admin UI embedded (needs Node; see build-api).
build: ui
	$(GO) build -tags webui -o $(BIN)/signalgate ./cmd/signalgate

## build-api: the server without the admin UI, from Go alone; / then serves a
## page saying how to build the UI.
build-api:
	$(GO) build -o $(BIN)/signalgate ./cmd/signalgate

## run: serve on :8080 with a managed local PostgreSQL kept in ./.signalgate.
run: deps build
	$(BIN)/signalgate serve

## test: everything a change must pass. The fault tests run after the unit
## and browser tests, on their own: they kill servers and stop PostgreSQL
## under load.
test: deps vet gotest fuzz regotest uitest e2e faulttest

vet:
	$(GO) vet ./...

# The stock-OPA agent test runs the OPA binary built from go.mod's version.
gotest: $(OPA)
	SIGNALGATE_OPA_BIN=$(OPA) $(GO) test -race -count=1 -timeout 20m ./...

# A short run of each fuzz target beyond its seed corpus (testdata/fuzz).
# Budgets are counts of executions, about 10 s each here, not durations: a
# duration ends in a race inside Go's fuzz coordinator (go.dev/issue/75804,
# fixed in Go 1.27) that can fail a run with "context deadline exceeded" and
# no failing input. FUZZ_SCALE multiplies every budget for longer runs.
FUZZ_SCALE ?= 1
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $$((200000 * $(FUZZ_SCALE)))x ./internal/strictjson/
	$(GO) test -run '^$$' -fuzz '^FuzzReadRecord$$' -fuzztime $$((200000 * $(FUZZ_SCALE)))x ./internal/spool/
	$(GO) test -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $$((2000 * $(FUZZ_SCALE)))x ./internal/engine/

## uitest: the UI's unit tests (vitest).
uitest: $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm test

## chromium: Debian's Chromium for the browser tests (Playwright drives the
## system browser; it never downloads one).
chromium:
	@if [ -x $(CHROMIUM) ]; then \
		echo "Chromium found: $(CHROMIUM)"; \
	else \
		echo "Chromium not found: installing it with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	fi

## e2e: browser tests against a real server with its own managed PostgreSQL.
## The shell expands the file list: node 22+ no longer searches a directory
## given to --test.
e2e: build chromium
	SIGNALGATE_BIN=$(BIN)/signalgate node --test $(WEB)/e2e/*.test.mjs

## faulttest: a real server killed -9 and PostgreSQL crashed under load;
## prints acknowledged / found / missing / duplicates per fault.
faulttest:
	$(GO) test -tags fault -count=1 -p 1 -timeout 15m -v ./internal/faults/

# The Rego tests run twice: under signalgate's own runner (restricted
# capabilities) and under stock OPA, which must load the folder unchanged.
regotest: build $(OPA)
	$(OPA) check --strict policies
	$(OPA) test policies
	$(BIN)/signalgate policy test policies

$(OPA):
	@echo "building stock OPA $(OPA_VERSION) (once; kept in .tools/)"
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)
	mv $(TOOLS)/opa $(OPA)

## bench: load signalgate and stock OPA over loopback; figures go to stdout.
bench: build $(OPA)
	$(GO) build -o $(BIN)/loadgen ./cmd/loadgen
	$(BIN)/loadgen -signalgate $(BIN)/signalgate -opa $(OPA) -policies policies

## bench-audit: time the audit queries (search, statistics, export, impact) over
## HTTP on a seeded decision log kept in .bench-audit/ (seeded once, then reused);
## BENCH_AUDIT_ROWS=200000 for a quick trial.
BENCH_AUDIT_ROWS ?= 10000000
bench-audit: deps build
	$(GO) build -o $(BIN)/loadgen ./cmd/loadgen
	$(BIN)/loadgen audit -signalgate $(BIN)/signalgate -data-dir .bench-audit -rows $(BENCH_AUDIT_ROWS)

## bench-shadow: what a revision in shadow costs the decision API (p99 at half
## the maximum rate, saturated throughput), with and without it.
bench-shadow: build
	$(GO) build -o $(BIN)/loadgen ./cmd/loadgen
	$(BIN)/loadgen shadow -signalgate $(BIN)/signalgate

## bench-schedule: how far apart two instances on one database switch to a
## scheduled revision (goal: 100 ms at most).
bench-schedule: build
	$(GO) build -o $(BIN)/loadgen ./cmd/loadgen
	$(BIN)/loadgen schedule -signalgate $(BIN)/signalgate

## bench-engine: in-process evaluation cost (ns and allocations per decision).
bench-engine:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/engine/

clean-data:
	rm -rf .signalgate
