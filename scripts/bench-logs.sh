#!/bin/bash
# Log-parsing benchmark: xdpban's decoder + rules against fail2ban-regex
# (Debian's fail2ban, stock sshd filter) and sshguard's sshg-parser on the
# same generated sshd log. Prints: tool, lines, seconds, lines/s, peak RSS MB,
# and xdpban's speed as a multiple of each tool's.
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

# measure NAME LINES CMD...: best wall time of $RUNS runs and its peak RSS
declare -A SECS RSS NLINES
measure() {
	local name=$1 n=$2 best='' rss='' i out
	shift 2
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" ||
			{ cat "$work/err" >&2; die "$name failed"; }
		read -r out r <"$work/time"
		if [ -z "$best" ] || awk -v a="$out" -v b="$best" 'BEGIN{exit !(a < b)}'; then
			best=$out rss=$r
		fi
	done
	SECS[$name]=$best RSS[$name]=$rss NLINES[$name]=$n
}

measure xdpban "$nl" "$XDPBAN" logtest --quiet "$log"
grep -q 'lines read: '"$nl" "$work/err" || die "xdpban did not read every line: $(cat "$work/err")"
if [ -x /usr/libexec/sshguard/sshg-parser ]; then
	sshg=/usr/libexec/sshguard/sshg-parser
else
	sshg=$(dpkg -L sshguard 2>/dev/null | grep '/sshg-parser$' | head -1)
fi
if [ -n "$sshg" ]; then
	measure sshg-parser "$nl" sh -c '"$1" <"$2"' _ "$sshg" "$log"
fi
if command -v fail2ban-regex >/dev/null; then
	RUNS=1 measure fail2ban-regex "$nf" fail2ban-regex "$work/f2b.log" /etc/fail2ban/filter.d/sshd.conf
fi

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
xr=$(rate "${NLINES[xdpban]}" "${SECS[xdpban]}")
printf '%-16s %9s %8s %12s %12s %14s\n' tool lines seconds lines/s peak_RSS_MB xdpban/tool
for t in xdpban sshg-parser fail2ban-regex; do
	[ -n "${SECS[$t]:-}" ] || { printf '%-16s not installed\n' "$t"; continue; }
	r=$(rate "${NLINES[$t]}" "${SECS[$t]}")
	printf '%-16s %9d %8.2f %12d %12.1f %14s\n' "$t" "${NLINES[$t]}" "${SECS[$t]}" "$r" \
		"$(awk -v k="${RSS[$t]}" 'BEGIN{print k/1024}')" \
		"$(awk -v a="$xr" -v b="$r" 'BEGIN{ if (b > 0) printf "%.1fx", a / b; else print "-" }')"
done
echo "(generated log: $nl lines, $SOURCES sources, IPv4 + IPv6; fail2ban-regex on the first $nf lines;" \
	"best of $RUNS runs except fail2ban-regex: 1)"
