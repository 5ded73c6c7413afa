#!/bin/sh
# As in the official nats image: `docker run IMAGE -js ...` means `nats-server -js ...`.
set -e
case "$1" in
    -*) set -- nats-server "$@" ;;
esac
exec "$@"
