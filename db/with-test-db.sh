#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: a fresh data
# directory and port, removed afterwards even when the command fails.
# The command sees the cluster's URL in DDNSBROKER_TEST_DATABASE_URL.
#
#   db/with-test-db.sh go test ./...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/ddnsbroker-test-XXXXXX)
chmod 755 "$dir"
cleanup() {
	"$here/cluster.sh" stop "$dir/pg" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Durability is not under test here; skipping fsync makes the suite faster.
url=$(PG_FSYNC=${PG_FSYNC:-off} "$here/cluster.sh" start "$dir/pg") || { echo "could not start the test database" >&2; exit 1; }
export DDNSBROKER_TEST_DATABASE_URL="$url"
export DDNSBROKER_TEST_PG_DIR="$dir/pg"
"$@"
