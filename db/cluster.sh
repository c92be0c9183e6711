#!/usr/bin/env bash
# Manages a private PostgreSQL cluster for `make run` and `make test`.
#
#   db/cluster.sh start DIR   create (once) and start a cluster in DIR; prints its URL
#   db/cluster.sh stop DIR    stop it
#   db/cluster.sh url DIR     print the URL of a started cluster
#
# The cluster listens on 127.0.0.1 and a free port (remembered in DIR/port) and
# uses password authentication (password in DIR/password). As root it runs as
# the `postgres` user, since PostgreSQL refuses to run as root. When no server
# binaries are found it installs Debian's postgresql package (as root).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|url DIR" >&2; exit 2; }

find_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
	return 1
}

bindir=$(find_bin || true)
if [ -z "$bindir" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "cluster: installing PostgreSQL (apt-get install postgresql)" >&2
		apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >&2
		bindir=$(find_bin)
	else
		echo "cluster: no PostgreSQL server found; install it with: sudo apt-get install postgresql" >&2
		exit 1
	fi
fi

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# free_port picks an unused port from a random start, so that clusters
# started at the same moment rarely pick the same one (start retries if so).
free_port() {
	local i p start=$((RANDOM % 600))
	for i in $(seq 0 599); do
		p=$((54330 + (start + i) % 600))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"; return 0
		fi
	done
	echo "cluster: no free port" >&2; return 1
}

url() {
	echo "postgres://ddnsbroker:$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/ddnsbroker?sslmode=disable"
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
		if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
			chown postgres: "$dir"
			if ! runuser -u postgres -- test -w "$dir"; then
				echo "cluster: the postgres user cannot reach $dir (a parent directory is closed to other users); set DDNSBROKER_DATABASE_URL or move the checkout" >&2
				exit 1
			fi
		fi
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		[ -f "$dir/password" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$dir/password")
		free_port > "$dir/port"
		pwfile=$(mktemp)
		cp "$dir/password" "$pwfile"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile" "$dir/password" "$dir/port"
		as_owner "$bindir/initdb" -D "$dir/data" -U ddnsbroker --pwfile="$pwfile" \
			--auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
			|| { cat "$dir/initdb.log" >&2; rm -f "$pwfile"; exit 1; }
		rm -f "$pwfile"
	fi
	if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		mkdir -p "$dir/run"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/run"
		# The port is remembered, but another program may hold it now, or
		# another cluster starting at the same moment may have picked it:
		# then take another free port.
		for attempt in 1 2 3 4 5; do
			port=$(cat "$dir/port")
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				free_port > "$dir/port"; continue
			fi
			if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
				-o "-c listen_addresses=127.0.0.1 -p $port -k $dir/run -c max_connections=200 -c fsync=${PG_FSYNC:-on}" start >/dev/null; then
				break
			fi
			if [ "$attempt" -eq 5 ] || ! tail -n 5 "$dir/postgres.log" | grep -q "Address already in use"; then
				tail -n 20 "$dir/postgres.log" >&2; exit 1
			fi
			free_port > "$dir/port"
		done
	fi
	port=$(cat "$dir/port")
	export PGPASSWORD
	PGPASSWORD=$(cat "$dir/password")
	if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U ddnsbroker -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ddnsbroker'" | grep -q 1; then
		"$bindir/psql" -h 127.0.0.1 -p "$port" -U ddnsbroker -d postgres -qc "CREATE DATABASE ddnsbroker" >/dev/null
	fi
	url
	;;
stop)
	[ -f "$dir/data/PG_VERSION" ] || exit 0
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	;;
url)
	url
	;;
*)
	echo "usage: $0 start|stop|url DIR" >&2; exit 2
	;;
esac
