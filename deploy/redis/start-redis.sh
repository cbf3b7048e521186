#!/bin/sh
# Starts redis-server with the StockPulse users of users.acl, each turned on with its password
# from the environment (the procedure of deploy/redis/README.md). deploy/compose.yaml runs it in
# the redis container; deploy/src/bundle.test.ts runs it to start the Redis the bundles use.
#
#   STOCKPULSE_WORKER_REDIS_PASSWORD, STOCKPULSE_GATEWAY_REDIS_PASSWORD,
#   STOCKPULSE_OPERATOR_REDIS_PASSWORD   the three users' passwords (required)
#   USERS_ACL   the users file as shipped (default: users.acl next to this script)
#   ACL_FILE    where the file with the passwords' hashes is written (default /tmp/stockpulse-users.acl)
#
# Further arguments go to redis-server (e.g. --appendonly yes, --port 6380).
set -eu
users=${USERS_ACL:-$(dirname "$0")/users.acl}
acl=${ACL_FILE:-/tmp/stockpulse-users.acl}

turn_on() {
  hash=$(printf %s "$2" | sha256sum | cut -c1-64)
  sed -i "s/^user $1 off resetpass /user $1 on #$hash /" "$acl"
  grep -q "^user $1 on #$hash " "$acl" || {
    echo "start-redis: $users has no line 'user $1 off resetpass ...'" >&2
    exit 1
  }
}

umask 077
cp "$users" "$acl"
turn_on stockpulse-worker "${STOCKPULSE_WORKER_REDIS_PASSWORD:?is not set}"
turn_on stockpulse-gateway "${STOCKPULSE_GATEWAY_REDIS_PASSWORD:?is not set}"
turn_on stockpulse-operator "${STOCKPULSE_OPERATOR_REDIS_PASSWORD:?is not set}"
exec redis-server --aclfile "$acl" "$@"
