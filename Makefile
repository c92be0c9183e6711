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

.PHONY: all build run stop-db test test-deps test-go test-faults test-deploy image bench deps tools clean help generate check-generated

# Frontend and API-generation targets live beside their code; each sets the
# variables below to hook itself into build, test and generate.
FRONTEND_BUILD :=
FRONTEND_TEST :=
GENERATE :=
# Debian packages the tests drive: real dyndns2 clients (libwww-curl-perl lets
# ddclient 3.10 speak IPv6 as the router setup tells it to, and libnss-wrapper
# resolves the test's broker names to loopback without touching /etc/hosts),
# the programs the files in deploy/ configure (nginx, caddy, systemd,
# docker-compose; strace for the unit's system-call filter; buildah and podman
# build and unpack the image) and, from frontend.mk, the browser.
TEST_PACKAGES := ddclient inadyn libwww-curl-perl curl wget libnss-wrapper bind9 pdns-server pdns-backend-sqlite3 sqlite3 systemd strace docker-compose \
	nginx caddy buildah podman ca-certificates
# The image make image builds (deploy/image.sh); make test builds its own name.
IMAGE ?= localhost/ddnsbroker:latest
TEST_IMAGE := localhost/ddnsbroker:test
-include frontend/frontend.mk
-include api/rest/rest.mk

all: build

help:
	@echo "make run      build and serve on http://127.0.0.1:8080 (private PostgreSQL under ./var unless DDNSBROKER_DATABASE_URL is set)"
	@echo "make test     every test against a throwaway PostgreSQL"
	@echo "make bench    benchmarks (prints a table)"
	@echo "make build    build $(BIN)"
	@echo "make image    build the container image $(IMAGE) with buildah (no registry needed)"
	@echo "make stop-db  stop the private PostgreSQL of make run"

deps:
	@command -v go >/dev/null || { echo "Go not found: install Go 1.26 into /usr/local/go" >&2; exit 1; }
	@go mod download

# Static (CGO off): the same binary runs on any Linux and in the image.
build: deps $(FRONTEND_BUILD)
	CGO_ENABLED=0 go build -trimpath -tags embedfrontend -ldflags '$(LDFLAGS)' -o $(BIN) ./api/cmd/ddnsbroker

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
# apt-get as root, or through sudo; waiting for the package lock when the
# system's updater holds it.
test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing test packages:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; \
		else echo "missing Debian packages:$$missing (install them as root)" >&2; exit 1; fi; \
		apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600"; \
		$$apt update -qq && $$apt install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The image is built first; TestImage (in go test) unpacks and runs it.
test: deps test-deps
	$(MAKE) --no-print-directory image IMAGE=$(TEST_IMAGE)
	DDNSBROKER_TEST_IMAGE=$(TEST_IMAGE) db/with-test-db.sh $(MAKE) --no-print-directory test-go

# The container image, from the binary of make build (deploy/image.sh).
image: build
	deploy/image.sh $(BIN) $(IMAGE) $(VERSION)

# Only the tests of the files in deploy/: nginx, Caddy, systemd, compose and
# the image (also part of make test).
test-deploy: deps test-deps
	$(MAKE) --no-print-directory image IMAGE=$(TEST_IMAGE)
	DDNSBROKER_TEST_IMAGE=$(TEST_IMAGE) db/with-test-db.sh go test -count=1 -run 'Nginx|Caddy|Systemd|Compose|Dockerfile|Semver|Image|Healthcheck|MakeTestDeps' ./api/cmd/ddnsbroker/

test-go:
	@[ -n "$${DDNSBROKER_TEST_DATABASE_URL:-}" ] || { echo "test-go needs DDNSBROKER_TEST_DATABASE_URL; use make test" >&2; exit 1; }
	go vet ./...
	go test -race -count=1 -timeout 30m ./...
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
