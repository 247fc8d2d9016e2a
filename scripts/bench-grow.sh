#!/bin/bash
# make bench (bench-grow): the exact-ban tables growing under a live flood,
# and their kernel memory.
#
#   gen  --g0==e0--  edge
#   flood (XDP live frames from 1,000 banned sources)   xdpban native on e0
#
# Per family (IPv4, then IPv6): the flood's 1,000 sources are banned, the
# flood starts (bench_trafgen, the generator of bench-traffic), and
# bench_grow fills the table to 10,000 bans, bans one more (the table grows
# to 40,000), fills it to 40,000 and bans one more (160,000). For each growth
# it prints how long it took, step by step, how long the writers' lock was
# held, the frames dropped meanwhile, the frames of banned sources that got
# past XDP meanwhile (an nftables counter on e0's netdev ingress, behind
# XDP: must be 0), and whether every ban is still there with its end and
# its counters (none lost, none reset). After each flood the bans' counters
# must add up to the program's dropped count. Then the kernel memory
# (bytes_memlock of every pinned map) at 0, 10,000, 100,000 and 1,000,000
# bans per family, with and without reasons, in fresh pin directories.
#
# Exits non-zero if a banned frame passed, a ban was lost or reset, or the
# counters do not add up. Knobs: GROW_STEPS (10000,40000), GROW_MEM
# ("0 10000 100000 1000000"; empty: no memory table), GROW_FLOOD_SECONDS
# (the bound of each flood, 60). Addresses: 198.18.0.0/15 and 2001:db8::/32
# (IPv4 bans past 198.18.0.0/15 in the memory table come from 240.0.0.0/4,
# reserved, and see no frame). Everything bounded; namespaces removed on exit.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/net/lib.sh
. "$TOP/tests/net/lib.sh"
need_root

BIN=$BUILD/bench
RES=$BUILD/bench/results
STEPS=${GROW_STEPS:-10000,40000}
MEM=${GROW_MEM-0 10000 100000 1000000}
FLOOD_S=${GROW_FLOOD_SECONDS:-60}
mkdir -p "$RES"
rc=0

for b in bench_trafgen bench_grow; do
	[ -x "$BIN/$b" ] || { echo "bench-grow: $BIN/$b missing; run make BUILD=$BUILD tests" >&2; exit 1; }
done
command -v nft >/dev/null || { echo "bench-grow: nft missing (make deps)" >&2; exit 1; }
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then GEN_CPU=$((NCPU - 1)); APP_CPU=0; else GEN_CPU=0; APP_CPU=0; fi

ns_add gen && ns_add edge || exit 1
G=$(ns_name gen) E=$(ns_name edge)
veth "$G" g0 "$E" e0 || exit 1
addr "$G" g0 198.18.0.2/30 && addr "$E" e0 198.18.0.1/30 || exit 1
addr "$G" g0 2001:db8::2/64 && addr "$E" e0 2001:db8::1/64 || exit 1
EMAC=$(ip -n "$E" -br link show e0 | awk '{print $3}')
pin_dir_new grow || exit 1
X() { ip netns exec "$E" "$XDPBAN" -q "$@"; }
X attach e0 --mode native >/dev/null || { echo "bench-grow: xdpban attach e0 --mode native failed" >&2; exit 1; }

# Behind XDP: frames of the banned sources that got past it.
ip netns exec "$E" nft -f - <<-EOF || exit 1
	table netdev xbgrow {
		counter banned4 { }
		counter banned6 { }
		chain in {
			type filter hook ingress device "e0" priority 0;
			ip saddr 198.18.4.0/22 counter name banned4
			ip6 saddr 2001:db8:1::/64 counter name banned6
		}
	}
	EOF
passed_cmd() { echo "nft list counter netdev xbgrow banned$1 | awk '/packets/ { print \$2 }'"; }

echo "bench-grow: flood from CPU $GEN_CPU, growths on CPU $APP_CPU; steps $STEPS per family"
for fam in 4 6; do
	if [ "$fam" = 4 ]; then src=198.18.4.0 dst=198.18.0.1 base=198.19.0.0
	else src=2001:db8:1:: dst=2001:db8::1 base=2001:db8:2::; fi
	"$BIN/bench_trafgen" --list 1000 --src-base "$src" >"$RES/grow-sources$fam.txt" || exit 1
	X ban --file "$RES/grow-sources$fam.txt" --ttl 2h >/dev/null || { echo "bench-grow: banning the flood's sources failed" >&2; exit 1; }
	ip netns exec "$G" timeout $((FLOOD_S + 10)) taskset -c "$GEN_CPU" "$BIN/bench_trafgen" \
		--ifname g0 --dst-mac "$EMAC" --dst "$dst" --src-base "$src" --n-src 1000 \
		--proto udp --dport 9 --count 2000000000 --seconds "$FLOOD_S" >/dev/null &
	flood=$!
	bg_track $flood
	# The flood is on once the program drops.
	d0=$(X stats --json | jq .dropped)
	if ! wait_until 10 sh -c "test \$(ip netns exec $E $XDPBAN stats --json | jq .dropped) -gt $((d0 + 10000))"; then
		echo "bench-grow: IPv$fam: the flood does not arrive" >&2
		rc=1
	fi
	ip netns exec "$E" taskset -c "$APP_CPU" "$BIN/bench_grow" grow --family "$fam" --base "$base" \
		--steps "$STEPS" --passed-cmd "$(passed_cmd "$fam")" || rc=1
	kill "$flood" 2>/dev/null
	wait "$flood" 2>/dev/null
	sleep 0.2
	# Every drop is in a ban's counter: none lost in a growth.
	ip netns exec "$E" "$BIN/bench_grow" verify || { echo "bench-grow: the bans' counters do not add up" >&2; rc=1; }
	echo "bench-grow: IPv$fam: banned frames past XDP over the whole flood: $(eval "ip netns exec $E $(passed_cmd "$fam")")"
done
X detach e0 >/dev/null

# --- kernel memory -------------------------------------------------------------
for reason in bench ""; do
	[ -n "$MEM" ] || break
	pin_dir_new "mem${reason:+r}" || exit 1
	echo "bench-grow: kernel memory (bytes_memlock of every pinned map, $NCPU CPUs), $([ -n "$reason" ] && echo with || echo without) reasons"
	for n in $MEM; do
		"$BIN/bench_grow" fill --to "$n" ${reason:+--reason "$reason"} || { echo "bench-grow: filling to $n failed" >&2; rc=1; break; }
	done
done
exit $rc
