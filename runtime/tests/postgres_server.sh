#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tracker's tests (.ci/run starts one with it; the
# fixture in conftest.py runs it when DLR_TEST_POSTGRES_DSN is unset):
#
#   postgres_server.sh start DIR   initdb into DIR/data, start a server listening on a socket in DIR
#                            only (no TCP port to collide with), create database dlr, print its URL
#   postgres_server.sh stop DIR    stop that server (immediately: its data is thrown away)
#
# Trust authentication, fsync off: a server for tests, never for data. initdb refuses to run
# as root, so as root the server runs as the user postgres (or nobody) and DIR is handed to it.
# Exit status 3: no PostgreSQL binaries (the message says how to install them).
set -euo pipefail

command=${1:-}
dir=${2:-}
if [[ -z $command || -z $dir ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

find_bindir() {
    if [[ -n ${DLR_POSTGRES_BIN:-} ]]; then
        [[ -x $DLR_POSTGRES_BIN/initdb ]] && echo "$DLR_POSTGRES_BIN"
        return
    fi
    if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir
        return
    fi
    # Debian keeps the server's binaries out of PATH, one folder per major version: the newest.
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -n $found && -x $found/initdb ]]; then echo "$found"; return; fi
    if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
    return 1
}

if ! bindir=$(find_bindir); then
    echo "no PostgreSQL server binaries (initdb, postgres, pg_ctl) found: install them" \
        "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql)," \
        "set DLR_POSTGRES_BIN to their folder, or point DLR_TEST_POSTGRES_DSN at a server" >&2
    exit 3
fi

# As root, the server's commands run as an unprivileged user who owns DIR.
as_server=()
if [[ $(id -u) == 0 ]]; then
    if id postgres >/dev/null 2>&1; then
        as_server=(runuser -u postgres --)
    else
        as_server=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    fi
fi

case $command in
start)
    mkdir -p "$dir"
    if [[ $(id -u) == 0 ]]; then
        chown "$("${as_server[@]}" id -u):$("${as_server[@]}" id -g)" "$dir"
    fi
    "${as_server[@]}" "$bindir/initdb" -D "$dir/data" -U dlr --auth=trust --no-sync -E UTF8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as_server[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-k $dir -c listen_addresses='' -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    "$bindir/psql" -q -h "$dir" -p 5432 -U dlr -d postgres -c "CREATE DATABASE dlr" >/dev/null
    echo "postgresql://dlr@/dlr?host=$dir&port=5432"
    ;;
stop)
    if [[ -f $dir/data/postmaster.pid ]]; then
        "${as_server[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
