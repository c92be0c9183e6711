# DDnsBroker. `make run` serves the product, `make test` proves it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
VAR := $(CURDIR)/var
BIN := bin/ddnsbroker

# Development settings, used by `make run` unless already set.
export DDNSBROKER_LISTEN ?= 127.0.0.1:8080
export DDNSBROKER_SECRET_KEY_FILE ?= $(VAR)/secret_key

.PHONY: all build run stop-db test test-deps test-go test-faults bench deps tools clean help generate check-generated

# Frontend and API-generation targets live beside their code; each sets the
# variables below to hook itself into build, test and generate.
FRONTEND_BUILD :=
FRONTEND_TEST :=
GENERATE :=
# Debian packages the tests drive: real dyndns2 clients (and, from
# frontend.mk, the browser); libwww-curl-perl lets ddclient 3.10 speak IPv6
# as the router setup tells it to, and libnss-wrapper resolves the test's
# broker names to loopback without touching /etc/hosts.
TEST_PACKAGES := ddclient inadyn libwww-curl-perl curl wget libnss-wrapper bind9 systemd docker-compose
-include frontend/frontend.mk
-include api/rest/rest.mk

all: build

help:
	@echo "make run      build and serve on http://127.0.0.1:8080 (private PostgreSQL under ./var unless DDNSBROKER_DATABASE_URL is set)"
	@echo "make test     every test against a throwaway PostgreSQL"
	@echo "make bench    benchmarks (prints a table)"
	@echo "make build    build $(BIN)"
	@echo "make stop-db  stop the private PostgreSQL of make run"

deps:
	@command -v go >/dev/null || { echo "Go not found: install Go 1.26 into /usr/local/go" >&2; exit 1; }
	@go mod download

build: deps $(FRONTEND_BUILD)
	go build -trimpath -tags embedfrontend -ldflags '$(LDFLAGS)' -o $(BIN) ./api/cmd/ddnsbroker

# The private cluster and secret key live under ./var and survive restarts.
run: build
	@mkdir -p $(VAR)
	@[ -s $(VAR)/secret_key ] || (umask 077; head -c 32 /dev/urandom | base64 > $(VAR)/secret_key)
	@if [ -z "$${DDNSBROKER_DATABASE_URL:-}" ]; then \
		url=$$(db/cluster.sh start $(VAR)/postgres); \
		export DDNSBROKER_DATABASE_URL="$$url"; \
		echo "database: private cluster in $(VAR)/postgres (make stop-db stops it)"; \
	fi; \
	echo "serving on http://$$DDNSBROKER_LISTEN — the admin password is printed below on the first start"; \
	exec ./$(BIN) serve

stop-db:
	db/cluster.sh stop $(VAR)/postgres

# Installs the Debian packages the tests need when they are missing: with
# apt-get as root, or through sudo.
test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing test packages:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; \
		else echo "missing Debian packages:$$missing (install them as root)" >&2; exit 1; fi; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: deps test-deps
	db/with-test-db.sh $(MAKE) --no-print-directory test-go

test-go:
	@[ -n "$${DDNSBROKER_TEST_DATABASE_URL:-}" ] || { echo "test-go needs DDNSBROKER_TEST_DATABASE_URL; use make test" >&2; exit 1; }
	go vet ./...
	go test -race -count=1 ./...
	@$(if $(FRONTEND_TEST),$(MAKE) --no-print-directory $(FRONTEND_TEST),true)

generate: $(GENERATE)

# The slow fault-injection tests (kill -9, database outage, flaky upstreams,
# two replicas); the fast ones also run in make test.
test-faults: deps test-deps
	db/with-test-db.sh go test -tags faults -count=1 -timeout 40m -run 'Fault' -v ./api/cmd/ddnsbroker/

# Benchmarks print their tables; PostgreSQL runs with fsync on here, as in
# production (the tests turn it off for speed).
bench: deps
	PG_FSYNC=on db/with-test-db.sh go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./api/cmd/ddnsbroker/

clean:
	rm -rf bin
