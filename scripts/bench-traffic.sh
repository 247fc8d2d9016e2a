#!/bin/bash
# make bench-traffic: a live flood against xdpban and its peers over veth.
#
#   gen  --g0==e0--  edge  --e1==c0--  cli
#   flood (XDP live frames)   server    legitimate client (TCP request/response)
#
# The flood is made by bench_trafgen with BPF_PROG_TEST_RUN live frames: each
# frame gets the next source of the banned set and is redirected into g0, so
# e0 receives xdp_frames as from a NIC, before any skb exists. Per ban-list
# size (1,000 and 100,000) and frame kind (UDP, TCP SYN to the server's port),
# the same flood meets, one after the other:
#   xdpban   the XDP filter, native on e0 ($BUILD/xdpban attach)
#   nft      pass-only XDP on e0 + nftables netdev ingress, set with timeouts
#   ipt      pass-only XDP on e0 + iptables raw PREROUTING + ipset (timeouts)
#   none     pass-only XDP on e0, no filter (the stack absorbs the flood)
#   floor    an XDP program that drops every frame unseen: the generator's
#            own cost plus the least any receiver can do
# Each case runs twice: the flood alone (drop rate, CPU), then the flood with
# the legitimate client running (its requests/s and latency). The client's
# baseline without any flood is measured in the same run.
#
# CPU: busy time of the whole machine from /proc/stat (all but idle and
# iowait) over the flood, per million dropped frames. On veth the receiver
# runs in the generator's context (e0's NAPI on the generator's CPU), so this
# includes the generator; the floor row shows that part.
# Dropped frames come from each filter's own counters (xdpban stats, the nft
# rule counter, iptables -v); "none" shows what e0 received instead.
#
# Knobs: TRAFFIC_BANS ("1000 100000"), TRAFFIC_PROTOS ("udp syn"),
# TRAFFIC_SECONDS (flood length, 2), TRAFFIC_MAX_PACKETS (30000000),
# TRAFFIC_CONNS (client loops, 2), TRAFFIC_ROUNDS (3), TRAFFIC_MAX_BANS
# (capacity of xdpban's maps, its default when empty). Addresses: 198.18.0.0/24 for the links,
# bans from 198.18.1.0 up. Everything bounded; namespaces removed on exit.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/net/lib.sh
. "$TOP/tests/net/lib.sh"
need_root

BIN=$BUILD/bench
RES=$BUILD/bench/results
DOC=$TOP/doc/bench
SIZES=${TRAFFIC_BANS:-1000 100000}
PROTOS=${TRAFFIC_PROTOS:-udp syn}
FLOOD_S=${TRAFFIC_SECONDS:-2}
MAXPKT=${TRAFFIC_MAX_PACKETS:-30000000}
CONNS=${TRAFFIC_CONNS:-2}
ROUNDS=${TRAFFIC_ROUNDS:-3}
MAX_BANS=${TRAFFIC_MAX_BANS:-}         # xdpban map capacity; empty: its default
FILTERS="xdpban nft ipt none floor"
PORT=8080
SRC_BASE=198.18.1.0
mkdir -p "$RES" "$DOC"
TMP=$(mktemp -d /tmp/xdpban-bench-traffic.XXXXXX) || exit 1
on_exit "rm -rf '$TMP'"

for b in bench_trafgen bench_rr bench_attach; do
	[ -x "$BIN/$b" ] || { echo "bench-traffic: $BIN/$b missing; run make BUILD=$BUILD tests" >&2; exit 1; }
done
[ -x "$XDPBAN" ] || { echo "bench-traffic: $XDPBAN missing" >&2; exit 1; }
for t in nft iptables ipset taskset gnuplot; do
	command -v "$t" >/dev/null || { echo "bench-traffic: $t missing (make deps)" >&2; exit 1; }
done

# Generator on the last CPU, server and client on the first, when there are two.
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then GEN_CPU=$((NCPU - 1)); APP_CPU=0; else GEN_CPU=0; APP_CPU=0; fi

# --- topology ----------------------------------------------------------------
ns_add gen && ns_add edge && ns_add cli || exit 1
G=$(ns_name gen) E=$(ns_name edge) C=$(ns_name cli)
veth "$G" g0 "$E" e0 && veth "$C" c0 "$E" e1 || exit 1
addr "$G" g0 198.18.0.2/30 && addr "$E" e0 198.18.0.1/30 || exit 1
addr "$E" e1 198.18.0.5/30 && addr "$C" c0 198.18.0.6/30 || exit 1
# Answers to the flood (SYN-ACKs, ICMP) go back toward the attacker, as on the Internet.
ip -n "$E" route add default via 198.18.0.2 || exit 1
EMAC=$(ip -n "$E" -br link show e0 | awk '{print $3}')
pin_dir_new traffic || exit 1          # exports XDPBAN_PIN_DIR for $XDPBAN

ip netns exec "$E" taskset -c "$APP_CPU" "$BIN/bench_rr" server 198.18.0.5 "$PORT" 4 &
bg_track $!
wait_until 5 tcp_ok "$C" 198.18.0.5 "$PORT" || { echo "bench-traffic: server not reachable" >&2; exit 1; }

# The xdpban maps are created by the first attach; bans are loaded per size.
ip netns exec "$E" "$XDPBAN" -q attach e0 --mode native ${MAX_BANS:+--max-bans "$MAX_BANS"} >/dev/null || {
	echo "bench-traffic: xdpban attach e0 --mode native failed" >&2; exit 1; }
ip netns exec "$E" "$XDPBAN" -q detach e0 >/dev/null

# --- helpers -------------------------------------------------------------------
# CPU jiffies spent on the flood: everything but idle/iowait on the generator's
# CPU (generator, e0's NAPI and the filter all run there), plus irq/softirq
# time on the other CPUs (work the flood spills over). Processes of other
# jobs on the other CPUs are left out: the machine may be shared.
cpu_jiffies() {
	awk -v g="cpu$GEN_CPU" '$1 == g { s += $2 + $3 + $4 + $7 + $8 + $9 }
		$1 ~ /^cpu[0-9]+$/ && $1 != g { s += $7 + $8 } END { print s }' /proc/stat
}
e0_rx() { ip netns exec "$E" cat /sys/class/net/e0/statistics/rx_packets; }
xdpban_dropped() { ip netns exec "$E" "$XDPBAN" stats --json | jq -r .dropped; }
nft_dropped() {
	ip netns exec "$E" nft list chain netdev xbbench ingress 2>/dev/null |
		awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}
ipt_dropped() {
	ip netns exec "$E" iptables -t raw -L PREROUTING -v -x -n |
		awk '/match-set xbban4/ { s += $1 } END { print s + 0 }'
}

# filter_on NAME / filter_off NAME: switch one filter in on e0 and out again.
filter_on() {
	case $1 in
	xdpban)
		ip netns exec "$E" "$BIN/bench_attach" e0 detach 2>/dev/null
		ip netns exec "$E" "$XDPBAN" -q attach e0 --mode native >/dev/null ;;
	nft)
		ip netns exec "$E" "$BIN/bench_attach" e0 pass &&
		ip netns exec "$E" nft -f - <<-EOF
		add chain netdev xbbench ingress { type filter hook ingress device "e0" priority -500; }
		add rule netdev xbbench ingress ip saddr @ban4 counter drop
		EOF
		;;
	ipt)
		ip netns exec "$E" "$BIN/bench_attach" e0 pass &&
		ip netns exec "$E" iptables -t raw -I PREROUTING -i e0 -m set --match-set xbban4 src -j DROP ;;
	none)
		ip netns exec "$E" "$BIN/bench_attach" e0 pass ;;
	floor)
		ip netns exec "$E" "$BIN/bench_attach" e0 drop ;;
	esac
}
filter_off() {
	case $1 in
	xdpban) ip netns exec "$E" "$XDPBAN" -q detach e0 >/dev/null ;;
	nft)    printf 'flush chain netdev xbbench ingress\ndelete chain netdev xbbench ingress\n' |
			ip netns exec "$E" nft -f - ;;
	ipt)    ip netns exec "$E" iptables -t raw -D PREROUTING -i e0 -m set --match-set xbban4 src -j DROP ;;
	*)      ip netns exec "$E" "$BIN/bench_attach" e0 detach ;;
	esac
}
dropped_now() {
	case $1 in
	xdpban) xdpban_dropped ;;
	nft)    nft_dropped ;;
	ipt)    ipt_dropped ;;
	*)      e0_rx ;;
	esac
}

# flood PROTO NSRC SECONDS: the generator, pinned, bounded by count and time.
flood() {
	ip netns exec "$G" timeout $(( $3 + 20 )) taskset -c "$GEN_CPU" "$BIN/bench_trafgen" \
		--ifname g0 --dst-mac "$EMAC" --dst 198.18.0.1 --src-base "$SRC_BASE" --n-src "$2" \
		--proto "$1" --dport "$PORT" --count "$MAXPKT" --seconds "$3"
}
client() {  # SECONDS
	ip netns exec "$C" timeout $(( ${1%.*} + 20 )) taskset -c "$APP_CPU" \
		"$BIN/bench_rr" client 198.18.0.5 "$PORT" "$1" "$CONNS"
}
# baseline SECONDS: the client without flood, while a plain busy loop holds
# the generator's CPU as the flood would. (On this kind of VM an idle vCPU
# makes cross-CPU wake-ups slow, and an idle-CPU baseline came out below the
# flooded runs.)
baseline() {
	timeout $(( ${1%.*} + 2 )) taskset -c "$GEN_CPU" sh -c 'while :; do :; done' &
	local spin=$!
	client "$1"
	kill "$spin" 2>/dev/null
	wait "$spin" 2>/dev/null
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# load_bans N: the same N addresses into xdpban, the nft set and the ipset.
load_bans() {
	local n=$1 f=$TMP/bans-$1.txt
	"$BIN/bench_trafgen" --list "$n" --src-base "$SRC_BASE" >"$f" || return 1
	# xdpban: through its CLI, as a user loads a block list.
	ip netns exec "$E" "$XDPBAN" -q flush >/dev/null 2>&1
	ip netns exec "$E" "$XDPBAN" -q ban --file "$f" --ttl 1h >"$TMP/ban.log" 2>&1
	local got
	got=$(ip netns exec "$E" "$XDPBAN" status | sed -n 's/^bans: \([0-9]*\) IPv4.*/\1/p')
	if [ "${got:-0}" != "$n" ]; then
		echo "bench-traffic: xdpban ban --file stored ${got:-0} of $n: $(head -c 300 "$TMP/ban.log")" >&2
		return 1
	fi
	# nftables: a set with timeouts, in a netdev table; the chain is added per case.
	{
		echo "table netdev xbbench"
		echo "delete table netdev xbbench"
		echo "table netdev xbbench {"
		echo "  set ban4 { type ipv4_addr; flags timeout; timeout 1h; size $((n * 2)); }"
		echo "}"
		awk 'NR % 5000 == 1 { if (NR > 1) print " }"; printf "add element netdev xbbench ban4 { %s", $0; next }
		     { printf ", %s", $0 } END { print " }" }' "$f"
	} >"$TMP/nft.txt"
	ip netns exec "$E" nft -f "$TMP/nft.txt" || return 1
	# ipset with timeouts for iptables.
	ip netns exec "$E" ipset destroy xbban4 2>/dev/null
	{
		echo "create xbban4 hash:ip family inet timeout 3600 maxelem $((n * 2))"
		sed 's/^/add xbban4 /' "$f"
	} | ip netns exec "$E" ipset restore || return 1
}

# --- measure -------------------------------------------------------------------
# Flood-only runs are interleaved (xdpban nft ipt none floor, xdpban nft ...)
# for ROUNDS rounds and reported as medians; then per filter one client run
# without flood and one inside a flood, side by side; the baseline is the
# median of the no-flood runs.
ROWS=$TMP/rows.tsv
RAW=$TMP/raw.tsv
: >"$ROWS"
: >"$RAW"
echo "bench-traffic: generator on CPU $GEN_CPU, server and client on CPU $APP_CPU; floods of $FLOOD_S s (at most $MAXPKT frames), $ROUNDS rounds" >&2

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for n in $SIZES; do
	start=$(date +%s)
	load_bans "$n" || { echo "bench-traffic: loading $n bans failed" >&2; exit 1; }
	echo "bench-traffic: $n bans loaded in each filter in $(( $(date +%s) - start )) s" >&2
	for proto in $PROTOS; do
		for r in $(seq 1 "$ROUNDS"); do
			for f in $FILTERS; do
				filter_on "$f" || { echo "bench-traffic: enabling $f failed" >&2; exit 1; }
				d0=$(dropped_now "$f"); j0=$(cpu_jiffies)
				g=$(flood "$proto" "$n" "$FLOOD_S")
				j1=$(cpu_jiffies); d1=$(dropped_now "$f")
				filter_off "$f"
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$proto" "$f" "$(kv seconds "$g")" \
					"$(kv sent "$g")" "$((d1 - d0))" "$((j1 - j0))" >>"$RAW"
				echo "bench-traffic: $n $proto $f round $r: $g, counted $((d1 - d0)), $((j1 - j0)) jiffies" >&2
			done
		done
		for f in $FILTERS; do
			# The no-flood baseline right before, against drift on a shared machine.
			b=$(baseline "$FLOOD_S")
			echo "$n $proto $f $b" >>"$TMP/base.txt"
			filter_on "$f" || exit 1
			flood "$proto" "$n" "$(( FLOOD_S + 1 ))" >/dev/null &
			fpid=$!
			sleep 0.5
			out=$(client "$FLOOD_S")
			wait "$fpid"
			filter_off "$f"
			echo "$n $proto $f $out" >>"$TMP/client.txt"
			echo "bench-traffic: $n $proto $f with client: $out" >&2
		done
	done
	# The baseline row: medians of the no-flood runs.
	bsel() { awk -v n="$n" '$1 == n' "$TMP/base.txt" | sed -n "s/.* $1=\([^ ]*\).*/\1/p" | median; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "-" "no flood" "-" "-" "-" "-" \
		"$(bsel rps)" "$(bsel p50_us)" "$(bsel p99_us)" "$(awk -v n="$n" '$1 == n' "$TMP/base.txt" |
		sed -n 's/.* errors=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')" "-" >>"$ROWS"
	# Percentages against the median baseline of this size: single no-flood runs
	# swing more than the floods do on a shared machine.
	base_rps=$(bsel rps)
	for proto in $PROTOS; do
		# floor: CPU ms per million frames of the drop-all program (generator's share)
		fl=$(awk -F'\t' -v n="$n" -v p="$proto" '$1 == n && $2 == p && $3 == "floor" && $6 > 0 { print $7 * 10 / ($6 / 1e6) }' "$RAW" | median)
		for f in $FILTERS; do
			sel() { awk -F'\t' -v n="$n" -v p="$proto" -v f="$f" "\$1 == n && \$2 == p && \$3 == f { print ($1) }" "$RAW" | median; }
			off=$(sel '$5 / $4 / 1e6')
			mpps=$(sel '$6 / $4 / 1e6')
			cpm=$(sel '$6 > 0 ? $7 * 10 / ($6 / 1e6) : 0')
			out=$(awk -v n="$n" -v p="$proto" -v f="$f" '$1 == n && $2 == p && $3 == f' "$TMP/client.txt")

			awk -v n="$n" -v p="$proto" -v f="$f" -v off="$off" -v mpps="$mpps" -v cpm="$cpm" -v fl="$fl" \
				-v rps="$(kv rps "$out")" -v base="$base_rps" -v p50="$(kv p50_us "$out")" \
				-v p99="$(kv p99_us "$out")" -v err="$(kv errors "$out")" '
				BEGIN {
					none = f == "none"
					d = none ? "-" : sprintf("%.2f", mpps)
					if (none) d = d sprintf(" (received %.2f)", mpps)
					c = (none || cpm <= 0) ? "-" : sprintf("%.0f", cpm)
					per = (none || cpm <= 0) ? "-" : sprintf("%.2f", 1000 / cpm)
					edge = (none || cpm <= 0 || f == "floor") ? "-" : sprintf("%.0f", cpm - fl)
					pct = base > 0 ? sprintf(" (%.0f%%)", rps * 100 / base) : ""
					printf "%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s%s\t%s\t%s\t%s\t%s\n", n, p, f, off, d, c, edge, rps, pct, p50, p99, err, per
				}' >>"$ROWS"
		done
	done
done

# --- report ----------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MACHINE="$cpu_model, $NCPU CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
{
	echo "# Traffic benchmark (make bench-traffic)"
	echo
	echo "Machine: $MACHINE; $(date -u +%Y-%m-%d). $(nft --version | head -1), $(iptables -V), $(ipset -v | head -1 | cut -d, -f1)."
	echo
	echo "CPU vulnerabilities (every file of /sys/devices/system/cpu/vulnerabilities):" \
		"$(grep -H . /sys/devices/system/cpu/vulnerabilities/* 2>/dev/null | sed 's|^/sys/devices/system/cpu/vulnerabilities/||' |
			paste -sd ';' | sed 's/;/; /g')."
	echo
	echo "Flood: XDP live frames (BPF_PROG_TEST_RUN, BPF_F_TEST_XDP_LIVE_FRAMES) redirected into a veth,"
	echo "sources rotating over the whole banned set, $FLOOD_S s per run, generator pinned to CPU $GEN_CPU;"
	echo "flood-only runs interleaved over the filters, $ROUNDS rounds, medians shown."
	echo "Legitimate client: $CONNS closed loops of new TCP connection + 64-byte request/response to a server"
	echo "on the edge (both on CPU $APP_CPU), measured during one more flood per filter; a no-flood run"
	echo "precedes each (with a busy loop on CPU $GEN_CPU, so the CPU is as occupied as in a flood), and"
	echo "percentages are against the median of those (the *no flood* row)."
	echo "*CPU ms / M dropped*: CPU time of the flood (all busy time of the generator's CPU, where the"
	echo "generator, e0's NAPI and the filter run, plus irq/softirq time of the other CPUs; /proc/stat) per"
	echo "million dropped frames: generator included. *edge ms / M* subtracts the floor (an XDP program"
	echo "that drops every frame unseen), leaving the receiving side's cost. *M drops / CPU s* = 1000 / CPU ms."
	echo "Dropped frames are counted by each filter (xdpban stats, nft rule counter, iptables -v)."
	echo
	echo "| bans | frames | filter | offered Mpps | dropped Mpps | CPU ms / M dropped | edge ms / M | client req/s (of baseline) | p50 µs | p99 µs | client errors | M drops / CPU s |"
	echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	sed 's/\t/ | /g; s/^/| /; s/$/ |/' "$ROWS"
	echo
	# Target check: xdpban vs the best of nft and ipt, per size and frame kind.
	awk -F'\t' '
		$3 == "xdpban" { x[$1 "\t" $2] = $12; xe[$1 "\t" $2] = $7 }
		$3 == "nft" || $3 == "ipt" {
			k = $1 "\t" $2
			if ($12 + 0 > b[k] + 0) b[k] = $12
			if (!(k in be) || $7 + 0 < be[k] + 0) be[k] = $7
		}
		END {
			for (k in x) if (b[k] > 0) {
				split(k, kk, "\t")
				printf "- %s bans, %s: xdpban drops %.2fx as many frames per CPU-second as the best of nftables and iptables+ipset, generator included (target 2.5x)", kk[1], kk[2], x[k] / b[k]
				if (xe[k] > 0 && be[k] > 0) printf "; %.1fx counting the receiving side only", be[k] / xe[k]
				printf ".\n"
			}
		}' "$ROWS" | sort -n
	awk -F'\t' '$3 == "xdpban" { split($8, a, "[(%]"); printf "- %s bans, %s: legitimate client during the flood behind xdpban at %s%% of its no-flood requests/s (target at least 90%%).\n", $1, $2, a[2] }' "$ROWS"
	echo
	echo "![drops per CPU-second](traffic.png)"
} >"$RES/traffic.md"
cp "$RES/traffic.md" "$DOC/traffic.md"
cp "$ROWS" "$RES/traffic.tsv"

# Chart: million dropped frames per CPU-second, per case, one bar per filter.
awk -F'\t' '$3 != "no flood" && $3 != "none" { k = $1 " bans " $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k } v[k, $3] = $12 }
	END { for (i = 1; i <= n; i++) { k = order[i]; printf "\"%s\"\t%s\t%s\t%s\t%s\n", k, v[k, "xdpban"], v[k, "nft"], v[k, "ipt"], v[k, "floor"] } }' \
	"$ROWS" >"$RES/traffic-chart.tsv"
gnuplot <<EOF || echo "bench-traffic: gnuplot failed" >&2
set terminal pngcairo size 900,540 font ",10"
set datafile separator "\t"
set output "$DOC/traffic.png"
set title "Flood drop efficiency over veth (XDP live frames, generator included)\n$MACHINE" noenhanced
set ylabel "million dropped frames per CPU-second"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key below
set yrange [0:*]
set grid ytics
plot "$RES/traffic-chart.tsv" using 2:xtic(1) title "xdpban (XDP native)", \
     "" using 3 title "nftables netdev ingress set", \
     "" using 4 title "iptables raw + ipset", \
     "" using 5 title "floor: XDP drop-all"
EOF
cat "$DOC/traffic.md"
echo "bench-traffic: chart in $DOC/traffic.png" >&2
