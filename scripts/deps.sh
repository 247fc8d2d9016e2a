#!/bin/sh
# Install the Debian packages listed in scripts/packages.txt that are missing.
# Idempotent: does nothing (and needs no network) when all are present.
set -eu
here=$(dirname "$0")
missing=
for p in $(grep -v '^#' "$here/packages.txt"); do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run as root (sudo make deps)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
