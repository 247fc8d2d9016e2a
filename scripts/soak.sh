#!/bin/bash
# make soak: `xdpban run` under a sustained generated attack for SOAK_SECONDS
# (default 600; 60 is a quick check), with ban/expiry churn, reloads (some
# with a changed config), log rotations (rename and copytruncate) and kill -9
# restarts at random points. scripts/soak.py drives it, keeps its own model
# of which address must be banned until when, compares it with `xdpban list
# --json` samples and the daemon's log, and prints a table; non-zero exit
# when an assertion fails (see the README's "Soak").
#
# The daemon runs in a namespace made here (xbt<pid>-soak), attached
# (generic XDP) to a veth to a second one, with a private bpffs, state and
# log under a temp dir; all of it is removed on exit, also on Ctrl-C or
# failure. Addresses: 198.18.0.0/15 and 2001:db8::/32 only. Nothing is sent
# on any network: the attack is written to the log file.
#
# Environment: BUILD, XDPBAN, SOAK_SECONDS (30..86400), SOAK_RATE (lines/s,
# default 10000), SOAK_BURSTS (offending bursts/s, default 40), SOAK_SEED,
# SOAK_KEEP=1 (keep the run's files in $BUILD/soak-last; also kept on failure).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/net/lib.sh
. "$TOP/tests/net/lib.sh"
need_root

SOAK_SECONDS=${SOAK_SECONDS:-600}
if ! [[ $SOAK_SECONDS =~ ^[0-9]+$ ]] || [ "$SOAK_SECONDS" -lt 30 ] || [ "$SOAK_SECONDS" -gt 86400 ]; then
	echo "soak: SOAK_SECONDS must be 30..86400" >&2
	exit 2
fi
[ -x "$XDPBAN" ] || { echo "soak: build first (make BUILD=$BUILD)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "soak: needs python3" >&2; exit 1; }

T=$(mktemp -d /tmp/xdpban-soak-XXXXXX) || exit 1
on_exit "rm -rf '$T'"
pin_dir_new soak || { echo "soak: cannot mount a bpffs" >&2; exit 1; }
ns_add soak && ns_add peer || exit 1
NS=$(ns_name soak)
veth "$NS" xbs0 "$(ns_name peer)" xbp0 || exit 1
addr "$NS" xbs0 198.18.0.1/24
addr "$NS" xbs0 2001:db8::1/64

python3 "$TOP/scripts/soak.py" --ns "$NS" --iface xbs0 --dir "$T" \
	--xdpban "$XDPBAN" --rules "$TOP/rules" --seconds "$SOAK_SECONDS" \
	--rate "${SOAK_RATE:-10000}" --bursts "${SOAK_BURSTS:-40}" ${SOAK_SEED:+--seed "$SOAK_SEED"}
rc=$?
if [ "$rc" != 0 ] || [ "${SOAK_KEEP:-0}" = 1 ]; then
	rm -rf "$BUILD/soak-last" && mkdir -p "$BUILD/soak-last" &&
		cp "$T"/daemon.log "$T"/rss.log "$T"/xdpban.conf "$T"/local_rules.xml "$T"/report.txt \
			"$BUILD/soak-last/" 2>/dev/null
	echo "soak: the run's files are in $BUILD/soak-last"
fi
exit "$rc"
