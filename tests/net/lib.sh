# shellcheck shell=bash
# Helpers for tests that send real traffic between network namespaces.
#
# Safety: every namespace is created here, named xbt<pid>-<name>, and removed
# on exit (also on failure or signal). Addresses come only from
# 198.18.0.0/15 and 2001:db8::/32. Every wait is bounded.
#
# Output is TAP-style: "ok - name" / "not ok - name"; scripts/check.sh counts it.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
XDPBAN=${XDPBAN:-$BUILD/xdpban}
NS_PREFIX="xbt$$"
_NSES=() _PIDS=() _PINS=() _CLEANUP=()
_FAILS=0

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; _FAILS=$((_FAILS + 1)); }
skip()   { echo "ok - $* # SKIP"; }
# check NAME CMD...: ok when CMD succeeds
check()  { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }
# check_fails NAME CMD...: ok when CMD fails
check_fails() { local n=$1; shift; if "$@"; then not_ok "$n"; else ok "$n"; fi; }
diag()   { echo "# $*"; }

# Run at exit: user hooks, then processes, links, namespaces, pin dirs.
_cleanup() {
	local rc=$? h p ns d
	set +e
	for h in "${_CLEANUP[@]}"; do eval "$h" >/dev/null 2>&1; done
	for p in "${_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for ns in "${_NSES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for d in "${_PINS[@]}"; do
		rm -rf "${d:?}"/* 2>/dev/null
		umount "$d" 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	[ "$_FAILS" -gt 0 ] && rc=1
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# on_exit "command": run it during cleanup.
on_exit() { _CLEANUP+=("$1"); }
# bg_track PID: kill it during cleanup.
bg_track() { _PIDS+=("$1"); }

# ns_new NAME: create namespace $NS_PREFIX-NAME with loopback up; prints its name.
ns_new() {
	local ns="$NS_PREFIX-$1"
	ip netns add "$ns" || return 1
	_NSES+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}
# Same, but registers in this shell (ns_new runs in a subshell under $(...)).
ns_add() {
	local ns="$NS_PREFIX-$1"
	ip netns add "$ns" || return 1
	_NSES+=("$ns")
	ip -n "$ns" link set lo up
}
ns_name() { echo "$NS_PREFIX-$1"; }

# veth NS_A IF_A NS_B IF_B: a veth pair between two namespaces, both up.
veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# addr NS IF ADDR/PLEN: add an address (IPv6 without DAD so it is usable at once).
addr() {
	case $3 in
	*:*) ip -n "$1" addr add "$3" dev "$2" nodad ;;
	*)   ip -n "$1" addr add "$3" dev "$2" ;;
	esac
}

# pin_dir_new: a private bpffs for this test, visible inside `ip netns exec`
# (which remounts /sys, hiding /sys/fs/bpf). Exports XDPBAN_PIN_DIR.
pin_dir_new() {
	local d=/run/xdpban-test-$$-${1:-pin}
	mkdir -p "$d" && mount -t bpf bpf "$d" || return 1
	_PINS+=("$d")
	export XDPBAN_PIN_DIR=$d
}

# wait_until SECONDS CMD...: poll every 0.1 s until CMD succeeds; bounded.
wait_until() {
	local limit=$1 i=0; shift
	while [ "$i" -lt $((limit * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# now_ms: the clock in milliseconds, to time a step.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# tcp_ok NS ADDR PORT [SECONDS]: can NS open a TCP connection (bounded)?
tcp_ok() { ip netns exec "$1" timeout "${4:-2}" nc -z -w "${4:-2}" "$2" "$3" >/dev/null 2>&1; }
# ping_ok NS ADDR: one echo reply within a second?
ping_ok() { ip netns exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; }

# udp_flood NS SRC DST STOP SENT: UDP datagrams from SRC to DST port 9999 in
# the background (its pid tracked, in $!), at most 3,000,000 or 20 s, or
# until the file STOP exists; the count sent is written to SENT at the end.
udp_flood() {
	ip netns exec "$1" python3 -c '
import os, socket, sys, time
src, dst, stop, out = sys.argv[1:5]
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.setblocking(False)
n, end, msg = 0, time.monotonic() + 20, b"x" * 64
while n < 3000000 and time.monotonic() < end and not (n % 1024 == 0 and os.path.exists(stop)):
    try:
        s.sendto(msg, (dst, 9999)); n += 1
    except BlockingIOError:
        time.sleep(0.0005)
    except OSError:
        pass
open(out, "w").write(str(n))' "$2" "$3" "$4" "$5" &
	bg_track $!
}

need_root() {
	if [ "$(id -u)" != 0 ]; then echo "not ok - must run as root"; exit 1; fi
}
