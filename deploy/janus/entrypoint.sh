#!/bin/sh
# Writes the committed config with the admin secret filled in, then runs Janus in the
# foreground. Janus reads no environment variables, so the secret goes into the file,
# which only this user can read.
set -eu
secret="${JANUS_ADMIN_SECRET:?set JANUS_ADMIN_SECRET}"
case "$secret" in
  *[!A-Za-z0-9_-]*) echo "JANUS_ADMIN_SECRET: letters, digits, '-' and '_' only" >&2; exit 1 ;;
esac
if [ "${#secret}" -lt 24 ]; then
  echo "JANUS_ADMIN_SECRET: at least 24 characters" >&2
  exit 1
fi
conf="$HOME/conf"
mkdir -p "$conf"
chmod 700 "$conf"
for file in /etc/janus-template/*.jcfg; do
  sed "s/@JANUS_ADMIN_SECRET@/$secret/" "$file" >"$conf/$(basename "$file")"
done
set -- janus --configs-folder="$conf" --config="$conf/janus.jcfg" "$@"
# The public address browsers reach (the host's, as for coturn) in every host candidate.
if [ -n "${JANUS_NAT_1_1_MAPPING:-}" ]; then
  set -- "$@" --nat-1-1="$JANUS_NAT_1_1_MAPPING"
fi
exec "$@"
