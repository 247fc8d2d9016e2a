#!/bin/bash
# make bench: the per-packet benchmark of the XDP filter against its floor and
# against Debian's xdp-filter, then the log-parsing (fail2ban-regex,
# sshg-parser), reaction-latency, growth under a flood (bench-grow) and live-flood (nftables, iptables+ipset)
# benchmarks. Every table goes to stdout and to $BUILD/bench/results/; the
# per-packet and traffic tables also to doc/bench/.
#
# The per-packet part also prints what each part of the drop path costs
# (bench_xdp --parts) and the slots read per lookup over 100,000 banned and
# 100,000 other addresses at the highest load (--probes).
# Knobs (environment): BENCH_REPEAT (runs per measurement, default 2000000),
# BENCH_ROUNDS (default 21; each round's order of programs rotated, so a
# neighbour's burst on this shared machine hits every program alike and the
# medians stay resolved below 1 ns), BENCH_BANS (default
# 1000,100000,1000000), BENCH_BASELINE (an older build's xdpban.bpf.o to run
# beside the product on the same maps: before/after in one run),
# BENCH_OTHERS (the other scripts, default "bench-logs bench-latency bench-fleet bench-grow"; empty:
# the per-packet part alone).
#
# xdp-filter is loaded twice, each instance with its own bpffs and so its own
# maps, on a veth inside a namespace this script creates: one
# instance holds 1,000 addresses per family, the other 10,000 (its maps' limit).
# Features ipv4,ipv6 only (the fewest that filter on source addresses), native
# mode. The addresses are added with `xdp-filter ip -m src`, the same list
# xdpban gets (bench_xdp --list). No frame is sent anywhere: BPF_PROG_TEST_RUN
# runs the programs on a buffer.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/net/lib.sh
. "$TOP/tests/net/lib.sh"
need_root

BIN=$BUILD/bench
RES=$BUILD/bench/results
DOC=$TOP/doc/bench
REPEAT=${BENCH_REPEAT:-2000000}
ROUNDS=${BENCH_ROUNDS:-21}
BANS=${BENCH_BANS:-1000,100000,1000000}
mkdir -p "$RES" "$DOC"
rc=0

[ -x "$BIN/bench_xdp" ] || { echo "bench: $BIN/bench_xdp missing; run make BUILD=$BUILD tests" >&2; exit 1; }

# --- xdp-filter instances --------------------------------------------------
# xdp-filter keeps its maps under the first bpffs it finds in /proc/mounts and
# shares them between interfaces, so each instance is loaded and filled in a
# private mount namespace whose only bpffs is a fresh one on /sys/fs/bpf
# (other tests' bpffs mounts are detached there, not on the host). The program
# stays attached to its veth (and keeps its maps) after that namespace ends;
# deleting the network namespace at exit frees it. nsenter --net, unlike
# `ip netns exec`, does not remount /sys.
xf_instance() {  # NS IFNAME COUNT
	unshare -m --propagation private bash -c '
		set -e
		awk '\''$3 == "bpf" { print $2 }'\'' /proc/mounts | xargs -r -n 1 umount -l
		mount -t bpf bpf /sys/fs/bpf
		nsenter --net=/run/netns/"$1" xdp-filter load -m native -f ipv4,ipv6 "$2"
		# The tool adds each address itself, one process per address.
		"$4" --list "$3" | xargs -n 1 xdp-filter ip -m src >/dev/null
	' xf "$@" "$BIN/bench_xdp"
}

xf_args=()
if command -v xdp-filter >/dev/null; then
	ns_add xf || exit 1
	ns=$(ns_name xf)
	i=0
	for n in 1000 10000; do
		i=$((i + 1))
		veth "$ns" "xf$i" "$ns" "xfp$i" || exit 1
		start=$(date +%s)
		if ! xf_instance "$ns" "xf$i" "$n"; then
			echo "bench: xdp-filter instance with $n addresses failed; comparing without it" >&2
			continue
		fi
		id=$(ip -n "$ns" link show dev "xf$i" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
		[ -n "$id" ] || { echo "bench: no XDP program on xf$i" >&2; continue; }
		echo "bench: xdp-filter program id $id: $n addresses per family added in $(( $(date +%s) - start )) s" >&2
		xf_args+=(--xdp-filter "$n:$id")
	done
else
	echo "bench: xdp-filter not installed (apt-get install xdp-tools); comparing without it" >&2
fi

# --- per-packet ------------------------------------------------------------
echo "bench: per-packet, $REPEAT runs x $ROUNDS rounds, bans $BANS" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
base_args=()
[ -z "${BENCH_BASELINE:-}" ] || base_args=(--baseline "$BENCH_BASELINE")
if "$BIN/bench_xdp" --repeat "$REPEAT" --rounds "$ROUNDS" --bans "$BANS" \
	"${xf_args[@]}" "${base_args[@]}" --parts --probes 100000 --out "$RES/perpacket.md"; then
	{
		echo "# Per-packet benchmark (make bench)"
		echo
		echo "Machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs," \
			"$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)," \
			"$(date -u +%Y-%m-%d). xdp-filter: $(dpkg-query -W -f '${Package} ${Version}' xdp-tools 2>/dev/null)," \
			"loaded with \`-f ipv4,ipv6 -m native\` on a veth (addresses added with \`xdp-filter ip -m src\`);" \
			"the program run is the one attached to the veth, named below (xdp_dispatcher would mean libxdp's dispatcher in front of it)."
		echo
		echo "Load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)." \
			"Command: \`sudo make bench\` (BENCH_REPEAT=$REPEAT BENCH_ROUNDS=$ROUNDS BENCH_BANS=$BANS${BENCH_BASELINE:+ BENCH_BASELINE=$BENCH_BASELINE})."
		echo
		echo "CPU vulnerabilities (every file of /sys/devices/system/cpu/vulnerabilities):" \
			"$(grep -H . /sys/devices/system/cpu/vulnerabilities/* 2>/dev/null | sed 's|^/sys/devices/system/cpu/vulnerabilities/||' |
				paste -sd ';' | sed 's/;/; /g')."
		echo
		cat "$RES/perpacket.md"
	} >"$DOC/perpacket.md"
	cat "$DOC/perpacket.md"
else
	echo "bench: per-packet benchmark failed" >&2
	rc=1
fi

# --- the others' benchmarks ------------------------------------------------
# bench-traffic is the nftables and iptables+ipset comparison under a live
# flood (about 5 minutes); BENCH_TRAFFIC=0 leaves it out.
others=${BENCH_OTHERS-bench-logs bench-latency bench-fleet bench-grow}
[ "${BENCH_TRAFFIC:-1}" = 0 ] || others="$others bench-traffic"
for s in $others; do
	if [ -f "$TOP/scripts/$s.sh" ]; then
		echo
		echo "bench: scripts/$s.sh" >&2
		if ! BUILD=$BUILD bash "$TOP/scripts/$s.sh" | tee "$RES/$s.txt"; then
			echo "bench: $s failed" >&2
			rc=1
		fi
	else
		echo "bench: scripts/$s.sh not present, skipped" >&2
	fi
done
exit $rc
