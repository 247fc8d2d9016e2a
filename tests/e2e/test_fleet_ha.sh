#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fleet on a three-node NATS cluster (README, "High availability"):
# three nats-server nodes clustered in a hub namespace with the manager,
# edge1 and edge2 in their own namespaces as agents, every host given the
# three nodes' URLs. The manager keeps the reports' stream and the
# decisions' bucket at <replicas>: from one replica to three on a restart,
# an existing stream kept as it is. With the leader of the bucket killed,
# and then another node after the first came back, a brute force on edge1
# is still banned on edge2 (location all) with the same end; nothing is
# decided twice. A host-deny for edge2 alone (defined-agent) runs in its
# hosts.deny only and is lifted there at its end. Plain TCP here: TLS and permissions are test_fleet.sh's.
# Addresses from 198.18.61.0/24; everything is this test's, bounded, and
# removed on exit.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
need_root
for tool in nats-server curl jq; do
	command -v "$tool" >/dev/null || { echo "not ok - needs $tool: run 'sudo make deps'"; exit 1; }
done
export TZ=UTC
LAB=$(mktemp -d /run/xdpban-fleet-ha.XXXXXX) || exit 1
# The hosts' and nodes' logs are kept for a failed run.
KEEP=$BUILD/test-logs/fleet-ha
on_exit 'rm -rf "$KEEP"; mkdir -p "$KEEP"; for f in "$LAB"/*/*.log; do cp "$f" "$KEEP/$(basename "$(dirname "$f")")-$(basename "$f")"; done; rm -rf "$LAB"'
declare -A NS PIN XPID NPID

ns_add hub && ns_add edge1 && ns_add edge2 || exit 1
for h in hub edge1 edge2; do NS[$h]=$(ns_name "$h"); done
ip -n "${NS[hub]}" link add br0 type bridge && ip -n "${NS[hub]}" link set br0 up || exit 1
for n in 1 2 3; do addr "${NS[hub]}" br0 198.18.61.$n/24 || exit 1; done
addr "${NS[hub]}" br0 198.18.61.10/24 || exit 1
for i in 1 2; do
	veth "${NS[edge$i]}" eth0 "${NS[hub]}" e$i && ip -n "${NS[hub]}" link set e$i master br0 &&
		addr "${NS[edge$i]}" eth0 198.18.61.1$i/24 || exit 1
done
URLS="<url>nats://198.18.61.1:4222</url><url>nats://198.18.61.2:4222</url><url>nats://198.18.61.3:4222</url>"

# --- the cluster -------------------------------------------------------------
node_up() {
	local n=$1
	mkdir -p "$LAB/n$n/js"
	cat >"$LAB/n$n/nats.conf" <<C
server_name: n$n
listen: 198.18.61.$n:4222
http: 198.18.61.$n:8222
jetstream { store_dir: "$LAB/n$n/js", max_memory_store: 16MB, max_file_store: 128MB }
cluster {
  name: xbha
  listen: 198.18.61.$n:6222
  routes: [ nats://198.18.61.1:6222, nats://198.18.61.2:6222, nats://198.18.61.3:6222 ]
}
C
	ip netns exec "${NS[hub]}" nats-server -c "$LAB/n$n/nats.conf" >>"$LAB/n$n/nats.log" 2>&1 </dev/null &
	NPID[$n]=$!
	bg_track "${NPID[$n]}"
}
node_kill() { kill -9 "${NPID[$1]}" 2>/dev/null; wait "${NPID[$1]}" 2>/dev/null; NPID[$1]=; }
# jsz N QUERY: node N's JetStream monitoring page.
jsz() { ip netns exec "${NS[hub]}" curl -s -m 3 "http://198.18.61.$1:8222/jsz?$2"; }
meta_leader() { jsz "$1" "" | jq -r '.meta_cluster.leader // empty'; }
# stream_info N NAME: what node N knows of the stream (replicas, leader).
stream_info() {
	jsz "$1" "accounts=true&streams=true&config=true" |
		jq -c --arg s "$2" '[.account_details[]?.stream_detail[]? | select(.name == $s)][0] // empty'
}
replicas_of() { stream_info "$1" "$2" | jq -r '.config.num_replicas // empty'; }
leader_of() { stream_info "$1" "$2" | jq -r '.cluster.leader // empty'; }
# up_node: one node that is running, for the monitoring reads.
up_node() { local n; for n in 1 2 3; do [ -n "${NPID[$n]}" ] && { echo "$n"; return; }; done; }

for n in 1 2 3; do node_up "$n"; done
check "three nats-server nodes elect a JetStream meta leader" \
	wait_until 30 bash -c "[ -n \"\$(ip netns exec ${NS[hub]} curl -s -m 2 http://198.18.61.1:8222/jsz |
		jq -r '.meta_cluster.leader // empty')\" ]"
diag "meta leader: $(meta_leader 1)"

# --- hosts -------------------------------------------------------------------
conf() {       # conf HOST REPLICAS
	local h=$1 role=agent iface=eth0 id=$1
	[ "$h" = hub ] && role=manager iface=br0 id=manager
	mkdir -p "$LAB/$h/state"
	touch "$LAB/$h/auth.log" "$LAB/$h/hosts.deny"
	cat >"$LAB/$h/xdpban.conf" <<C
<xdpban>
  <interface>$iface</interface>
  <source type="file">$LAB/$h/auth.log</source>
  <rules_dir>$TOP/rules</rules_dir>
  <local_rules>$TOP/tests/data/local-5712-freq5.xml</local_rules>
  <state_dir>$LAB/$h/state</state_dir>
  <control_socket>$LAB/$h/xdpban.sock</control_socket>
  <fleet><agent_id>$id</agent_id><role>$role</role>$URLS<replicas>$2</replicas></fleet>
  <hosts_deny>$LAB/$h/hosts.deny</hosts_deny>
  <active-response>
    <command>firewall-drop</command> <location>all</location>
    <rules_id>5712</rules_id> <timeout>600</timeout>
  </active-response>
  <active-response>
    <command>host-deny</command> <location>defined-agent</location> <agent_id>edge2</agent_id>
    <rules_id>5712</rules_id> <timeout>12</timeout>
  </active-response>
</xdpban>
C
}
xb_up() {
	local h=$1
	[ -n "${PIN[$h]:-}" ] || { pin_dir_new "ha-$h" && PIN[$h]=$XDPBAN_PIN_DIR; } || return 1
	: >"$LAB/$h/xdpban.log"
	XDPBAN_PIN_DIR=${PIN[$h]} ip netns exec "${NS[$h]}" "$XDPBAN" run --config "$LAB/$h/xdpban.conf" \
		--foreground </dev/null >>"$LAB/$h/xdpban.log" 2>&1 &
	XPID[$h]=$!
	bg_track "${XPID[$h]}"
	wait_until 20 grep -q 'connected to the broker' "$LAB/$h/xdpban.log"
}
xb_down() { kill "${XPID[$1]}" 2>/dev/null; wait "${XPID[$1]}" 2>/dev/null; }
st() { XDPBAN_PIN_DIR=${PIN[$1]} "$XDPBAN" status --json --socket "$LAB/$1/xdpban.sock" 2>/dev/null; }
end_at() {     # end_at HOST ADDR: the ban's end in HOST's maps
	XDPBAN_PIN_DIR=${PIN[$1]} "$XDPBAN" list --json 2>/dev/null |
		jq -r --arg a "$2" '.[] | select(.addr == $a) | .expires_at // empty'
}
# attack ADDR: the five invalid users of rule 5712 in edge1's log.
attack() {
	local k now
	for k in 1 2 3 4 5; do
		now=$EPOCHREALTIME
		printf '%(%Y-%m-%dT%H:%M:%S)T.%s+00:00 edge1 sshd[%d]: Invalid user ha%d from %s port %d\n' \
			"${now%.*}" "${now#*.}" $((2000 + k)) "$k" "$1" $((41000 + k)) >>"$LAB/edge1/auth.log"
	done
}
# banned_both ADDR WHAT: attacked on edge1, ADDR is banned on edge2 within
# 30 s (a watch's lost consumer is noticed in two heartbeats, 10 s), with
# edge1's end (+-1 s).
banned_both() {
	local a=$1 e1 e2
	attack "$a"
	if ! wait_until 30 bash -c "[ -n \"\$(XDPBAN_PIN_DIR=${PIN[edge2]} '$XDPBAN' list --json 2>/dev/null |
		jq -r --arg a $a '.[] | select(.addr == \$a) | .addr')\" ]"; then
		not_ok "$2: $a banned on edge2 through the cluster"
		return
	fi
	ok "$2: $a banned on edge2 through the cluster"
	wait_until 10 bash -c "[ -n \"\$(XDPBAN_PIN_DIR=${PIN[edge1]} '$XDPBAN' list --json 2>/dev/null |
		jq -r --arg a $a '.[] | select(.addr == \$a) | .addr')\" ]"
	e1=$(end_at edge1 "$a") e2=$(end_at edge2 "$a")
	check "$2: the same end on both edges ($e1, $e2)" \
		bash -c "[ -n '$e1' ] && [ -n '$e2' ] && [ \$(( $e1 - $e2 )) -le 1 ] && [ \$(( $e2 - $e1 )) -le 1 ]"
}

# The manager first with one replica, as before <replicas> existed.
conf hub 1
check "manager connects to the cluster (replicas 1)" xb_up hub
# One replica lives on one node: ask all three.
r1() { local n; for n in 1 2 3; do replicas_of "$n" XDPBAN_REPORTS; done | sort -u | tr -d '\n'; }
check "the reports' stream has 1 replica" wait_until 10 eval '[ "$(r1)" = 1 ]' 
xb_down hub
conf hub 3
check "manager restarted with <replicas>3</replicas>" xb_up hub
check "manager logs the bucket's move to 3 replicas" \
	grep -q "the decisions' bucket goes from 1 to 3 replicas" "$LAB/hub/xdpban.log"
for s in XDPBAN_REPORTS KV_xdpban-decisions; do
	check "$s: 3 replicas" wait_until 15 bash -c "[ \"\$(ip netns exec ${NS[hub]} curl -s -m 2 \
		'http://198.18.61.1:8222/jsz?accounts=true&streams=true&config=true' |
		jq -r '[.account_details[]?.stream_detail[]? | select(.name == \"$s\")][0].config.num_replicas')\" = 3 ]"
done
xb_down hub
check "manager restarted again: the 3-replica stream and bucket are used as they are" xb_up hub
check "no replica change the second time" \
	bash -c "! grep -q 'replicas' '$LAB/hub/xdpban.log'"
for h in edge1 edge2; do conf "$h" 1; check "$h connects to the cluster" xb_up "$h"; done

banned_both 198.18.61.101 "all three nodes up"
# Another command travels too: host-deny for edge2 alone, run by edge2's
# executor as its own config defines it, lifted there at the decision's end.
check "host-deny (defined-agent edge2) runs on edge2" \
	wait_until 10 grep -q "198.18.61.101" "$LAB/edge2/hosts.deny"
T_HD=$SECONDS
check "host-deny runs nowhere else (edge1, manager)" \
	bash -c "! grep -q 198.18.61.101 '$LAB/edge1/hosts.deny' '$LAB/hub/hosts.deny'"

# --- a watch's consumer vanishes, the connection stays ----------------------------
# As when the node holding it dies while edge2 is connected to another one;
# deleted through JetStream's API here, so that nothing else changes.
consumers_of() {
	local n
	for n in 1 2 3; do
		[ -n "${NPID[$n]}" ] && jsz "$n" "accounts=true&streams=true&consumers=true"
	done | jq -r --arg p "$1-" '.account_details[]?.stream_detail[]? | select(.name == "KV_xdpban-decisions") |
		.consumer_detail[]? | .name | select(startswith($p))' | sort -u
}
C2=$(consumers_of edge2 | tr '\n' ' ')
diag "edge2's watches: $C2"
# shellcheck disable=SC2086 # the names, one argument each
ip netns exec "${NS[hub]}" python3 - 198.18.61.1 $C2 >"$LAB/hub/delete.log" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 4222), timeout=5)
s.recv(4096)
s.sendall(b'CONNECT {"verbose":false}\r\nSUB _INBOX.del 1\r\n')
for i, c in enumerate(sys.argv[2:]):
    s.sendall(b"PUB $JS.API.CONSUMER.DELETE.KV_xdpban-decisions.%s _INBOX.del 0\r\n\r\n" % c.encode())
got = b""
while got.count(b"MSG _INBOX.del") < len(sys.argv) - 2:
    got += s.recv(4096)
print(got.decode(errors="replace"))
PY
check "edge2's watches (${C2% }) deleted" bash -c "[ -n '$C2' ] && [ \$(grep -c '\"success\":true' '$LAB/hub/delete.log') -ge 2 ]"
check "edge2 notices in two heartbeats and watches again" \
	wait_until 20 grep -q "missed the broker's heartbeats" "$LAB/edge2/xdpban.log"
new_watches() { comm -13 <(tr ' ' '\n' <<<"$C2" | sort -u) <(consumers_of edge2) | grep -c .; }
check "edge2 has new watches" wait_until 10 eval '[ "$(new_watches)" -ge 2 ]'
banned_both 198.18.61.104 "edge2's watches re-made"

# --- the bucket's leader dies --------------------------------------------------
L=$(leader_of 1 KV_xdpban-decisions)
LN=${L#n}
case $LN in 1|2|3) ;; *) LN=1 ;; esac
diag "the bucket's leader: ${L:-unknown}; killing node n$LN (pid ${NPID[$LN]})"
node_kill "$LN"
O=$(up_node)
check "a new leader of the bucket is elected" \
	wait_until 30 bash -c "l=\$(ip netns exec ${NS[hub]} curl -s -m 2 \
		'http://198.18.61.$O:8222/jsz?accounts=true&streams=true&config=true' |
		jq -r '[.account_details[]?.stream_detail[]? | select(.name == \"KV_xdpban-decisions\")][0].cluster.leader // empty');
		[ -n \"\$l\" ] && [ \"\$l\" != n$LN ]"
banned_both 198.18.61.102 "the bucket's leader n$LN killed"

# --- it returns, another node dies --------------------------------------------
node_up "$LN"
check "n$LN rejoins" wait_until 30 bash -c "[ -n \"\$(ip netns exec ${NS[hub]} curl -s -m 2 \
	http://198.18.61.$LN:8222/jsz | jq -r '.meta_cluster.leader // empty')\" ]"
# Caught up: it holds the bucket up to the last message another node had
# when it came back (counts move: ended keys are purged meanwhile).
M=$((LN % 3 + 1))
last_seq() { stream_info "$1" KV_xdpban-decisions | jq -r '.state.last_seq // 0'; }
want=$(last_seq "$M")
caught_up() { [ "$(last_seq "$LN")" -ge "$want" ]; }
check "n$LN catches up with the bucket (to n$M's message $want)" wait_until 45 caught_up
diag "killing node n$M (pid ${NPID[$M]})"
node_kill "$M"
banned_both 198.18.61.103 "n$LN back, n$M killed"

check "edge2 lifts the host-deny at the decision's end (12 s)" \
	wait_until $((SECONDS - T_HD < 29 ? 30 - (SECONDS - T_HD) : 1)) bash -c "! grep -q 198.18.61.101 '$LAB/edge2/hosts.deny'"

# --- nothing twice -------------------------------------------------------------
S=$(st hub)
check "the manager decided each attack once per command (8 decided, 0 folded): $(jq -c '.daemon.fleet | {decided, folded}' <<<"$S")" \
	test "$(jq -r '.daemon.fleet | "\(.decided) \(.folded)"' <<<"$S")" = "8 0"
for h in edge1 edge2; do
	check "$h is connected through the failovers" \
		wait_until 15 bash -c "XDPBAN_PIN_DIR=${PIN[$h]} '$XDPBAN' status --json --socket '$LAB/$h/xdpban.sock' |
			jq -e '.daemon.fleet.connected == true' >/dev/null"
done
