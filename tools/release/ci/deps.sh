#!/bin/sh
# deps.sh installs what the test suite needs from Debian and nothing else.
# Idempotent: it installs only what is missing, and runs apt-get update only
# when an install fails without it. Runs as root on Debian 12 (CI, the dev
# container); `make test` calls it.
#
# Needs: PostgreSQL's initdb and pg_ctl (tools/testbed/pgtest starts a
# throwaway server with them), and the postgres system user the package
# creates (PostgreSQL refuses to run as root).
set -eu

say() { printf 'deps: %s\n' "$*"; }

have_pg() {
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		return 0
	fi
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && return 0
	done
	return 1
}

apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		say "need root to install $*: run this script as root (sudo $0)"
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	say "apt-get install -y --no-install-recommends $*"
	if ! apt-get install -y --no-install-recommends "$@"; then
		say "install failed; refreshing the package lists (apt-get update) and retrying"
		apt-get update
		apt-get install -y --no-install-recommends "$@"
	fi
}

if have_pg; then
	say "postgresql: initdb and pg_ctl present, nothing to do"
else
	say "postgresql: initdb or pg_ctl missing"
	apt_install postgresql
	have_pg || { say "postgresql installed but initdb/pg_ctl still not found under /usr/lib/postgresql/*/bin"; exit 1; }
	say "postgresql: installed"
fi

if id postgres >/dev/null 2>&1; then
	say "user postgres: present"
else
	# The Debian package creates it; a hand-built PostgreSQL may not.
	if [ "$(id -u)" -eq 0 ]; then
		say "user postgres: missing, creating a system user"
		adduser --system --group --home /var/lib/postgresql --no-create-home postgres
	else
		say "user postgres: missing (only needed when tests run as root)"
	fi
fi

# The browser test of the simulator page (tools/testbed/simbooth) drives Debian's
# chromium headless; the ARM builds are started under qemu-user.
if command -v chromium >/dev/null 2>&1; then
	say "chromium: present"
else
	say "chromium: missing"
	apt_install chromium
fi
# The gateway's alerting rules (tools/centre/wartel-gateway/alerts.yml) are
# checked and tested with promtool, which Debian ships in prometheus. Only
# the binary is used: in a container policy-rc.d keeps the package's server
# from starting; on a host with systemd it starts one on :9090 (stop it
# with `systemctl disable --now prometheus` if the port is wanted).
if command -v promtool >/dev/null 2>&1; then
	say "promtool: present"
else
	say "promtool: missing"
	apt_install prometheus
fi
if command -v qemu-arm-static >/dev/null 2>&1 && command -v qemu-aarch64-static >/dev/null 2>&1; then
	say "qemu-user-static: present"
else
	say "qemu-user-static: missing"
	apt_install qemu-user-static
fi
if command -v fsck.fat >/dev/null 2>&1; then
	say "dosfstools: present"
else
	# wartel-flash's tests check the boot partitions they write with fsck.fat.
	say "dosfstools: missing"
	apt_install dosfstools
fi
