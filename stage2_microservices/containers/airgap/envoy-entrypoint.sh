#!/bin/sh
# As in the official envoy image: `docker run IMAGE -c file` means `envoy -c file`.
set -e
case "$1" in
    -*) set -- envoy "$@" ;;
esac
exec "$@"
