# The admin web app (SvelteKit, in frontend/): included by the root Makefile.
# `make build` builds it for embedding, `make test` checks, lints and tests it
# (unit and browser tests), `make generate` regenerates the API client types.

FRONTEND_BUILD := frontend-build
FRONTEND_TEST := frontend-test
GENERATE += generate-ts
# Debian's Chromium drives the browser tests (make test-deps installs it); no
# browser is ever downloaded.
TEST_PACKAGES += chromium

.PHONY: frontend-build frontend-test frontend-unit frontend-e2e generate-ts check-generated-ts

NPM_STAMP := node_modules/.ddnsbroker-npm-ci
FRONTEND_SOURCES := $(shell find frontend/src frontend/static -type f 2>/dev/null) \
	frontend/package.json frontend/svelte.config.js frontend/vite.config.ts frontend/tsconfig.json \
	frontend/scripts/bundle-size.mjs

# npm ci again only when the lock file changed (or node_modules is gone).
$(NPM_STAMP): package-lock.json package.json frontend/package.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 (with npm) to build the web app" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

frontend/build/index.html: $(NPM_STAMP) $(FRONTEND_SOURCES)
	npm run build

frontend-build: frontend/build/index.html

# generate-ts writes the API types of the web app from openapi.yaml.
generate-ts: $(NPM_STAMP)
	npm run generate

# check-generated-ts fails when the committed TS types differ from what
# openapi.yaml generates.
check-generated-ts: $(NPM_STAMP)
	npm run --silent check-generated --workspace frontend

check-generated: check-generated-ts

frontend-unit: $(NPM_STAMP) check-generated-ts
	npm run check
	npm run lint
	npm test

# The browser tests run the real binary (bin/ddnsbroker from make build) on
# the test PostgreSQL of make test; they print where the screenshots went.
E2E_BINARY ?= $(BIN)
frontend-e2e: build test-deps
	@[ -n "$${DDNSBROKER_TEST_DATABASE_URL:-}" ] || { echo "frontend-e2e needs DDNSBROKER_TEST_DATABASE_URL; use make test" >&2; exit 1; }
	DDNSBROKER_E2E_BINARY=$(abspath $(E2E_BINARY)) npm run test:e2e

frontend-test: frontend-unit frontend-e2e
