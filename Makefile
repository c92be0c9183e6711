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

.PHONY: all build run stop-db test test-go bench deps tools clean help generate check-generated

# Frontend and API-generation targets live beside their code; each sets the
# variables below to hook itself into build, test and generate.
FRONTEND_BUILD :=
FRONTEND_TEST :=
GENERATE :=
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
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./api/cmd/ddnsbroker

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

test: deps
	db/with-test-db.sh $(MAKE) --no-print-directory test-go

test-go:
	@[ -n "$${DDNSBROKER_TEST_DATABASE_URL:-}" ] || { echo "test-go needs DDNSBROKER_TEST_DATABASE_URL; use make test" >&2; exit 1; }
	go vet ./...
	go test -race -count=1 ./...
	@$(if $(FRONTEND_TEST),$(MAKE) --no-print-directory $(FRONTEND_TEST),true)

generate: $(GENERATE)

bench: deps
	db/with-test-db.sh go test -run '^$$' -bench . -benchtime 1x ./api/... 

clean:
	rm -rf bin
