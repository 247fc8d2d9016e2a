#!/bin/bash
# Log-parsing benchmark: xdpban's decoder + rules against fail2ban-regex
# (Debian's fail2ban, stock sshd filter) and sshguard's sshg-parser on the
# same generated sshd log. Prints: tool, lines, wall and CPU seconds,
# lines/s, peak RSS MB, and xdpban's speed as a multiple of each tool's.
# lines/s is computed from CPU time (user + system) of the best run, so a
# busy machine (parallel builds) skews the comparison less; the wall time of
# that run is shown beside it. Each tool runs RUNS times, interleaved.
#   BUILD=build LINES=1000000 F2B_LINES=200000 scripts/bench-logs.sh
# fail2ban-regex runs on the first F2B_LINES lines only (it needs ~40 s for
# 1M); lines/s is per line, so the rates compare.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
XDPBAN=${XDPBAN:-$BUILD/xdpban}
LINES=${LINES:-1000000}
F2B_LINES=${F2B_LINES:-200000}
SOURCES=${SOURCES:-10000}
RUNS=${RUNS:-3}

die() { echo "bench-logs: $*" >&2; exit 1; }
[ -x "$XDPBAN" ] || die "$XDPBAN not built (make BUILD=... tests)"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"

work=$(mktemp -d /tmp/xdpban-bench-logs.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/auth.log
"$TOP/scripts/gen-sshd-log.sh" "$LINES" "$SOURCES" 42 >"$log"
head -n "$F2B_LINES" "$log" >"$work/f2b.log"
nl=$(wc -l <"$log")
nf=$(wc -l <"$work/f2b.log")

# run NAME LINES CMD...: one timed run; keeps the one with the least CPU time
declare -A SECS CPU RSS NLINES
run() {
	local name=$1 n=$2 e u sy m c
	shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/err.$name" ||
		{ cat "$work/err.$name" >&2; die "$name failed"; }
	read -r e u sy m <"$work/time"
	c=$(awk -v a="$u" -v b="$sy" 'BEGIN { printf "%.3f", a + b }')
	if [ -z "${CPU[$name]:-}" ] || awk -v a="$c" -v b="${CPU[$name]}" 'BEGIN{exit !(a < b)}'; then
		CPU[$name]=$c SECS[$name]=$e RSS[$name]=$m
	fi
	NLINES[$name]=$n
}

if [ -x /usr/libexec/sshguard/sshg-parser ]; then
	sshg=/usr/libexec/sshguard/sshg-parser
else
	sshg=$(dpkg -L sshguard 2>/dev/null | grep '/sshg-parser$' | head -1 || true)
fi
for ((i = 0; i < RUNS; i++)); do
	run xdpban "$nl" "$XDPBAN" logtest --quiet "$log"
	grep -q 'lines read: '"$nl" "$work/err.xdpban" ||
		die "xdpban did not read every line: $(cat "$work/err.xdpban")"
	[ -n "$sshg" ] && run sshg-parser "$nl" sh -c '"$1" <"$2"' _ "$sshg" "$log"
done
# fail2ban-regex once: it is slow and its spread is small next to the ratio
command -v fail2ban-regex >/dev/null &&
	run fail2ban-regex "$nf" fail2ban-regex "$work/f2b.log" /etc/fail2ban/filter.d/sshd.conf

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
xr=$(rate "${NLINES[xdpban]}" "${CPU[xdpban]}")
printf '%-16s %9s %8s %8s %12s %12s %12s\n' tool lines wall_s cpu_s lines/s peak_RSS_MB xdpban/tool
for t in xdpban sshg-parser fail2ban-regex; do
	[ -n "${CPU[$t]:-}" ] || { printf '%-16s not installed\n' "$t"; continue; }
	r=$(rate "${NLINES[$t]}" "${CPU[$t]}")
	printf '%-16s %9d %8.2f %8.2f %12d %12.1f %12s\n' "$t" "${NLINES[$t]}" "${SECS[$t]}" "${CPU[$t]}" "$r" \
		"$(awk -v k="${RSS[$t]}" 'BEGIN{print k/1024}')" \
		"$(awk -v a="$xr" -v b="$r" 'BEGIN{ if (b > 0) printf "%.1fx", a / b; else print "-" }')"
done
echo "(generated log: $nl lines, $SOURCES sources, IPv4 + IPv6; fail2ban-regex on the first $nf lines;" \
	"lines/s from CPU time; best of $RUNS interleaved runs, fail2ban-regex 1 run)"
