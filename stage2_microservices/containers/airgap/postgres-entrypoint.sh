#!/bin/bash
# First start: initdb with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB, run the init
# scripts against a server that listens on its socket only; then exec the real server. This is
# the part of the official image's docker-entrypoint.sh that the HomeSense compose file relies on.
set -euo pipefail
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi
# Docker secrets: VAR_FILE names a file holding VAR, as the official image allows.
for var in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB; do
    file_var="${var}_FILE"
    if [ -n "${!file_var:-}" ]; then
        export "$var"="$(< "${!file_var}")"
    fi
done
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C > /dev/null
    rm -f "$pwfile"
    {
        echo "listen_addresses = '*'"
        echo "unix_socket_directories = '/var/run/postgresql'"
    } >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\"" > /dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -U "$user" -d "$db" -f "$f" > /dev/null ;;
            *.sh) echo "running $f"; . "$f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
