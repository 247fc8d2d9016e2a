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
# Prints p50, p90, p99 and max. Then the manager's throughput: BENCH_FLEET_REPORTS
# reports (default 20000, at most 32000) from 100 simulated agents, published
# at once straight into the stream, decided and stored, twice: with the two
# edges watching, then with their daemons stopped (the manager's host alone,
# as in a fleet whose edges are other machines). Each agent packs its
# reports BENCH_FLEET_PACK (default 16; 1: a message each) to a message, as
# <report_pack> does when reports queue up. For each: reports/s, the
# CPU time the manager and nats-server used per report (the fair figure on
# a shared machine, unlike the wall time), their RSS, the load average.
# BENCH_FLEET_N=20 makes the propagation part short. The tables also go to
# $BUILD/bench/results/.
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
EDGE_PIDS=

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
NATS_PID=$!
bg_track $NATS_PID
wait_until 10 grep -q 'Server is ready' "$LAB/nats.log" || { echo "nats-server did not start" >&2; exit 1; }

# The edges' <report_pack> (left out at 1, so a build without it runs too;
# the throughput's packs are the simulated agents', flood.py's PACK).
PACK=${BENCH_FLEET_PACK:-16}
PACK_XML=
[ "$PACK" != 1 ] && PACK_XML="<report_pack>$PACK</report_pack>"
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
  <fleet><agent_id>$id</agent_id><role>$role</role><url>nats://198.18.60.1:4222</url>
    <report_rate>1000000</report_rate>$PACK_XML</fleet>
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
	[ $h = hub ] && HUB_PID=$! || EDGE_PIDS+=" $!"
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
ok=0
[ "$got" = "$N" ] && ok=1

# --- the manager's throughput: 100 agents' reports, all at once ------------
# Twice: with the two edges watching (each applies every decision, on the
# same 2 cores), then on the manager's host alone (the edges' daemons
# stopped; in a fleet they are other machines): nats-server and the manager.
M=${BENCH_FLEET_REPORTS:-20000}
fleet_n() {
	XDPBAN_PIN_DIR=${PIN[hub]} "$XDPBAN" status --json --socket "$LAB/hub/xdpban.sock" 2>/dev/null |
		jq '.daemon.fleet | .decided + .folded + .refused'
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# CPU time a process (all its threads) has used, in ms: load-independent,
# the fair figure on a shared machine.
TCK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TCK" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"; }
# flood.py M FIRST PACK: reports FIRST..FIRST+M-1, each its own id and address
# (198.19.0.0/16, distinct for up to 64000 reports in all); report i is
# agent i % 100's, and each agent sends its reports PACK to a message (one
# a line), as an agent with <report_pack> does when reports queue up.
cat >"$LAB/flood.py" <<'PY'
import socket, sys, time
m, first, pack, t0 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(time.time())
s = socket.create_connection(("198.18.60.1", 4222), timeout=10)
s.recv(4096)
s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":false,"protocol":1}\r\n')
def report(i):
    a = "agent%03d" % (i % 100)
    return ('{"v":1,"type":"alert","id":"%s-b%d","agent":"%s","ts":%d,"addr":"198.19.%d.%d",'
            '"cmd":"firewall-drop","rule":5712,"level":10,"groups":""}'
            % (a, i, a, t0, i // 250 % 256, 1 + i % 250))
out = []
for c in range(first, first + m, 100 * pack):
    for k in range(100):
        ids = [i for i in range(c + k, min(c + 100 * pack, first + m), 100)]
        if not ids:
            continue
        body = "\n".join(report(i) for i in ids).encode()
        a = "agent%03d" % (ids[0] % 100)
        out.append(b"PUB xdpban.report.%s %d\r\n%s\r\n" % (a.encode(), len(body), body))
s.sendall(b"".join(out) + b"PING\r\n")
got = b""
while b"PONG" not in got:
    got += s.recv(4096)
PY
# The machine's idle and total ticks: was the flood short of CPU?
idle_ticks() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
edges_ms() { local p t=0; for p in $EDGE_PIDS; do t=$((t + $(cpu_ms "$p"))); done; echo $t; }
# flood FIRST WHAT [PERF_FILE]: M reports, waited for until all are decided.
flood() {
	local first=$1 what=$2 perf=${3:-} base load c0 n0 e0 i0 t0 t_pub t1 c1 n1 e1 i1 done_n cpu
	local perf_pid= id0 tot0 id1 tot1
	base=$(fleet_n)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	# A perf profile of the manager during the flood; DWARF call graphs,
	# as the build keeps no frame pointers.
	if [ -n "$perf" ]; then
		perf record -q --call-graph dwarf,8192 -F 499 -o "$perf" -p "$HUB_PID" >/dev/null 2>&1 &
		perf_pid=$!
		bg_track $perf_pid
		sleep 0.5
	fi
	c0=$(cpu_ms "$HUB_PID") n0=$(cpu_ms "$NATS_PID") e0=$(edges_ms) i0=$(idle_ticks)
	t0=$(now_ms)
	ip netns exec "${NS[hub]}" timeout 60 python3 "$LAB/flood.py" "$M" "$first" "$PACK" ||
		echo "bench-fleet: flood failed" >&2
	t_pub=$(now_ms)
	wait_until 120 bash -c "[ \$(XDPBAN_PIN_DIR=${PIN[hub]} '$XDPBAN' status --json --socket '$LAB/hub/xdpban.sock' |
		jq '.daemon.fleet | .decided + .folded + .refused') -ge $((base + M)) ]"
	t1=$(now_ms)
	c1=$(cpu_ms "$HUB_PID") n1=$(cpu_ms "$NATS_PID") e1=$(edges_ms) i1=$(idle_ticks)
	[ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
	done_n=$(( $(fleet_n) - base ))
	echo
	echo "manager throughput, $what: $M reports from 100 agents, $PACK a message (published in $((t_pub - t0)) ms), decided and stored"
	printf '%-10s %10s %12s %16s %14s\n' reports took_ms reports_per_s nats_rss_mib manager_rss_mib
	printf '%-10s %10s %12s %16s %14s\n' "$done_n" $((t1 - t0)) $((done_n * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1))) \
		$(( $(rss_kb "$NATS_PID") / 1024 )) $(( $(rss_kb "$HUB_PID") / 1024 ))
	cpu=$((c1 - c0 > 0 ? c1 - c0 : 1))
	printf '%-10s %10s %12s %16s %14s %14s %14s\n' manager cpu_ms us_per_report reports_per_cpu_s \
		nats_cpu_ms nats_us_per_rep edges_cpu_ms
	printf '%-10s %10s %12s %16s %14s %14s %14s\n' "" "$cpu" $((cpu * 1000 / (done_n > 0 ? done_n : 1))) \
		$((done_n * 1000 / cpu)) $((n1 - n0)) $(( (n1 - n0) * 1000 / (done_n > 0 ? done_n : 1) )) $((e1 - e0))
	read -r id0 tot0 <<<"$i0"
	read -r id1 tot1 <<<"$i1"
	echo "(load average before: $load; the machine idle $(( (id1 - id0) * 100 / (tot1 - tot0 > 0 ? tot1 - tot0 : 1) ))% meanwhile;"
	echo " CPU time from /proc/PID/stat, all threads)"
	[ "$done_n" -ge "$M" ]
}
# BENCH_FLEET_PERF=FILE: a perf profile of the manager during each flood
# (FILE with the edges watching, FILE.alone without).
ok2=1
{
	flood 0 "2 edges watching (each applies every decision, on the same cores)" \
		"${BENCH_FLEET_PERF:-}" || ok2=0
	# The edges stop (our own daemons, by pid): the manager's host alone.
	for p in $EDGE_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $EDGE_PIDS; do wait_until 10 bash -c "! kill -0 $p"; done
	EDGE_PIDS=
	flood "$M" "the manager's host alone (nats-server + manager; the edges stopped)" \
		"${BENCH_FLEET_PERF:+$BENCH_FLEET_PERF.alone}" || ok2=0
	echo "ok2=$ok2" >"$LAB/ok2"
} | tee -a "$RES/fleet-propagation.txt"
. "$LAB/ok2"
[ "$ok" = 1 ] && [ "$ok2" = 1 ]
