#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fleet's propagation: from the log line that completes a brute force on
# edge1 to the ban in edge2's map, through the broker and the manager
# (location all). A hub namespace runs nats-server (JetStream, plain TCP
# here) and the manager; edge1 and edge2 run `xdpban run` as agents. edge1's
# log gets the five "Invalid user" lines of one address at a time
# (BENCH_FLEET_N addresses, default 1000, 198.18.80.0/22), 20 ms apart; the
# time each fifth line is written is kept, and edge2's "ban ADDR" log line
# (printed once the map holds it, ms resolution) gives the arrival.
# Prints p50, p90, p99 and max; the table also goes to $BUILD/bench/results/.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/net/lib.sh
. "$TOP/tests/net/lib.sh"
need_root
command -v nats-server >/dev/null || { echo "bench-fleet: needs nats-server (make deps)" >&2; exit 1; }
N=${BENCH_FLEET_N:-1000}
RES=$BUILD/bench/results
mkdir -p "$RES"
export TZ=UTC
LAB=$(mktemp -d /run/xdpban-bench-fleet.XXXXXX) || exit 1
on_exit 'rm -rf "$LAB"'
declare -A NS PIN

ns_add hub && ns_add edge1 && ns_add edge2 || exit 1
for h in hub edge1 edge2; do NS[$h]=$(ns_name $h); done
ip -n "${NS[hub]}" link add br0 type bridge && ip -n "${NS[hub]}" link set br0 up &&
	addr "${NS[hub]}" br0 198.18.60.1/24 || exit 1
for i in 1 2; do
	veth "${NS[edge$i]}" eth0 "${NS[hub]}" e$i && ip -n "${NS[hub]}" link set e$i master br0 &&
		addr "${NS[edge$i]}" eth0 198.18.60.1$i/24 || exit 1
done
cat >"$LAB/nats.conf" <<C
listen: 198.18.60.1:4222
jetstream { store_dir: "$LAB/js", max_memory_store: 64MB, max_file_store: 512MB }
C
ip netns exec "${NS[hub]}" nats-server -c "$LAB/nats.conf" >"$LAB/nats.log" 2>&1 </dev/null &
bg_track $!
wait_until 10 grep -q 'Server is ready' "$LAB/nats.log" || { echo "nats-server did not start" >&2; exit 1; }

for h in hub edge1 edge2; do
	d=$LAB/$h
	mkdir -p "$d/state"
	: >"$d/auth.log"
	role=agent id=$h iface=eth0
	[ $h = hub ] && role=manager id=manager iface=br0
	cat >"$d/xdpban.conf" <<C
<xdpban>
  <interface>$iface</interface>
  <source type="file">$d/auth.log</source>
  <rules_dir>$TOP/rules</rules_dir>
  <local_rules>$TOP/tests/data/local-5712-freq5.xml</local_rules>
  <state_dir>$d/state</state_dir>
  <control_socket>$d/xdpban.sock</control_socket>
  <fleet><agent_id>$id</agent_id><role>$role</role><url>nats://198.18.60.1:4222</url></fleet>
  <active-response>
    <command>firewall-drop</command> <location>all</location>
    <rules_id>5712</rules_id> <timeout>3600</timeout>
  </active-response>
</xdpban>
C
	pin_dir_new "bench-fleet-$h" || exit 1
	PIN[$h]=$XDPBAN_PIN_DIR
	XDPBAN_PIN_DIR=${PIN[$h]} ip netns exec "${NS[$h]}" "$XDPBAN" run --config "$d/xdpban.conf" \
		--foreground </dev/null >"$d/xdpban.log" 2>&1 &
	bg_track $!
	wait_until 15 grep -q 'connected to the broker' "$d/xdpban.log" || {
		echo "$h did not connect" >&2; tail "$d/xdpban.log" >&2; exit 1; }
done

# The attack: five lines per address, the fifth's write time kept.
: >"$LAB/stamps"
for ((i = 0; i < N; i++)); do
	a=198.18.$((80 + i / 250)).$((1 + i % 250))
	for k in 1 2 3 4 5; do
		now=$EPOCHREALTIME
		printf '%(%Y-%m-%dT%H:%M:%S)T.%s+00:00 edge1 sshd[%d]: Invalid user b%d-%d from %s port %d\n' \
			"${now%.*}" "${now#*.}" $((1000 + i)) "$i" "$k" "$a" $((40000 + k)) >>"$LAB/edge1/auth.log"
	done
	echo "$a ${now/./}" >>"$LAB/stamps"
	sleep 0.02
done
wait_until 30 bash -c "[ \$(grep -c ' ban 198.18.8' '$LAB/edge2/xdpban.log') -ge $N ]" ||
	echo "bench-fleet: only $(grep -c ' ban 198.18.8' "$LAB/edge2/xdpban.log") of $N arrived" >&2

# edge2's "YYYY-mm-ddTHH:MM:SS.mmm ban ADDR ..." lines -> "ADDR us".
while read -r ts verb a _; do
	[ "$verb" = ban ] || continue
	echo "$a $(($(date -d "${ts}Z" +%s%N) / 1000))"
done <"$LAB/edge2/xdpban.log" >"$LAB/arrived"
join <(sort "$LAB/stamps") <(sort "$LAB/arrived") |
	awk '{ d = ($3 - $2) / 1000.0; if (d < 0) d = 0; print d }' | sort -n >"$LAB/lat"
got=$(wc -l <"$LAB/lat")
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.1f", v[i] }' "$LAB/lat"; }
{
	echo "fleet propagation, edge1's log line -> edge2's map (location all, via the manager)"
	printf '%-10s %8s %8s %8s %8s %8s\n' decisions p50_ms p90_ms p99_ms max_ms lost
	printf '%-10s %8s %8s %8s %8s %8s\n' "$got" "$(pct 50)" "$(pct 90)" "$(pct 99)" "$(pct 100)" $((N - got))
	echo "(daemon log timestamps: 1 ms resolution; one host, 2 cores shared by hub, edges and writer)"
} | tee "$RES/fleet-propagation.txt"
[ "$got" = "$N" ]
