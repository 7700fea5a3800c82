#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and prints a URL of
# a role that may create databases. Starts an installed cluster, or installs
# PostgreSQL from Debian's packages when there is none. Fails loudly.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

start_cluster() {
	local v
	v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
	[ -n "$v" ] || return 1
	say "starting PostgreSQL $v"
	pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
	for _ in $(seq 1 30); do ready && return 0; sleep 1; done
	return 1
}

if ! command -v pg_isready >/dev/null 2>&1 || ! ready; then
	if ! start_cluster; then
		say "PostgreSQL is not installed; installing it from Debian's packages"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
		start_cluster || { say "FAILED: PostgreSQL did not start"; exit 1; }
	fi
fi

# Find a role that can connect over TCP and create databases.
for url in "postgres://$(id -un)@127.0.0.1:5432/test?sslmode=disable" \
	"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" \
	"postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"; do
	if psql "$url" -tAc "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user" 2>/dev/null | grep -q t; then
		echo "$url"
		exit 0
	fi
done

# A fresh Debian install only lets the postgres OS user in over the socket:
# give the postgres role a password for TCP logins.
if id postgres >/dev/null 2>&1; then
	say "setting a password for the postgres role (local test server only)"
	su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\"" >&2
	url="postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if psql "$url" -tAc "SELECT 1" >/dev/null 2>&1; then
		echo "$url"
		exit 0
	fi
fi
say "FAILED: PostgreSQL runs but no role can log in over TCP to create databases"
exit 1
