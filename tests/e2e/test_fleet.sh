#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fleet (issue 13) with real processes: a hub namespace with nats-server
# (JetStream, TLS, one certificate per host mapped to a user with its own
# permissions) and the manager, and edge1..edge3, each a real OpenSSH server
# followed by `xdpban run` as an agent. One attacker namespace reaches every
# edge and the hub from the same addresses (198.18.70.0/24, 2001:db8:70::/64),
# so a ban means the same address everywhere (scripts/fleet-lab.sh builds it;
# make demo uses it too).
#
# Each location bans exactly where it belongs, with one end (+-1 s), seen
# with real ssh traffic; a stopped edge enforces on return only what
# remains, and an expired decision never; the second offence on another
# edge is escalated; three edges reporting one attack count once; killing
# nats-server or the manager loses nothing and counts nothing twice; an
# agent's certificate is refused for what it may not do, a client without
# one is refused, and a report naming a fleet host bans nobody.
# Everything is this test's own, bounded, and removed on exit.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
need_root
for tool in /usr/sbin/sshd ssh sshpass nats-server openssl python3 jq nc curl promtool; do
	command -v "$tool" >/dev/null || { echo "not ok - needs $tool: run 'sudo make deps'"; exit 1; }
done
export TZ=UTC
LAB=$(mktemp -d /run/xdpban-fleet.XXXXXX) || exit 1
chmod 0755 "$LAB"
on_exit 'rm -rf "$LAB"'
. "$TOP/scripts/fleet-lab.sh"
# shellcheck disable=SC2034 # read by scripts/fleet-lab.sh
FLEET=$LAB
PROBE="python3 $TOP/tests/e2e/fleet_probe.py"
HOSTS=$FL_HOSTS BROKER=$FL_BROKER
# The shared lab's names, short.
declare -n NS=FL_NS
declare -n PIN=FL_PIN
net_up() { fl_net_up; }
certs() { fl_certs; }
nats_up() { fl_nats_up; }
nats_down() { fl_nats_down; }
sshd_up() { fl_sshd_up "$@"; }
xb_up() { fl_xb_up "$@"; }
xb_down() { fl_xb_down "$@"; }
xb_kill() { fl_xb_kill "$@"; }
xb() { fl_xb "$@"; }
st() { fl_st "$@"; }
ban_of() { fl_ban_of "$@"; }
banned_at() { fl_banned_at "$@"; }
attack() { fl_attack "$@"; }
FL_RULES=$LAB/local_rules.xml
edge_ip() { fl_edge_ip "$@"; }
edge_ip6() { fl_edge_ip6 "$@"; }

# --- hosts -------------------------------------------------------------------
# rules: 5712 at 5 invalid users (location all); invalid users whose names
# start da-, sv-, lo-, es- fire rules of their own, bound to defined-agent,
# server, local, and all with a short first ban (the escalation).
rules() {
	cat >"$LAB/local_rules.xml" <<'R'
<group name="local,syslog,sshd,">
  <rule id="5712" level="10" frequency="5" timeframe="120" overwrite="yes">
    <if_matched_sid>5710</if_matched_sid>
    <same_source_ip />
    <description>sshd: brute force with non-existent users (test: 5)</description>
    <group>authentication_failures,</group>
  </rule>
R
	local p id
	for p in da:100100 sv:100110 lo:100120 es:100130; do
		id=${p#*:}
		cat >>"$LAB/local_rules.xml" <<R
  <rule id="$id" level="5">
    <if_sid>5710</if_sid>
    <match>user ${p%%:*}-</match>
    <description>test: invalid user ${p%%:*}-</description>
    <group>invalid_login,</group>
  </rule>
  <rule id="$((id + 1))" level="10" frequency="5" timeframe="120">
    <if_matched_sid>$id</if_matched_sid>
    <same_source_ip />
    <description>test: 5 invalid ${p%%:*}- users</description>
    <group>authentication_failures,</group>
  </rule>
R
	done
	echo '</group>' >>"$LAB/local_rules.xml"
}

FL_RESPONSES=$(cat <<'R'
  <active-response>
    <command>firewall-drop</command> <location>all</location>
    <rules_id>5712</rules_id> <timeout>90</timeout>
  </active-response>
  <active-response>
    <command>firewall-drop</command> <location>defined-agent</location>
    <agent_id>edge2,edge3</agent_id>
    <rules_id>100101</rules_id> <timeout>90</timeout>
  </active-response>
  <active-response>
    <command>firewall-drop</command> <location>server</location>
    <rules_id>100111</rules_id> <timeout>90</timeout>
  </active-response>
  <active-response>
    <command>firewall-drop</command> <location>local</location>
    <rules_id>100121</rules_id> <timeout>90</timeout>
  </active-response>
  <active-response>
    <command>firewall-drop</command> <location>all</location>
    <rules_id>100131</rules_id> <timeout>6</timeout> <repeated_offenders>2</repeated_offenders>
  </active-response>
R
)

# bans_where ADDR: the hosts that ban it, space separated.
bans_where() {
	local h out=
	for h in $HOSTS; do banned_at "$h" "$1" && out="$out $h"; done
	echo "${out# }"
}
# bans_are ADDR "HOSTS": exactly these ban it (for wait_until: evaluated each time).
bans_are() { [ "$(bans_where "$1")" = "$2" ]; }
# fleet_is HOST FIELD VALUE: a field of HOST's fleet status.
fleet_is() { [ "$(fleet_of "$1" "$2")" = "$3" ]; }
fleet_ge() { [ "$(fleet_of "$1" "$2")" -ge "$3" ]; }

# same_end ADDR HOSTS...: every host's end within 1 s of the first's.
same_end() {
	local a=$1 h e first= lo hi
	shift
	for h in "$@"; do
		e=$(ban_of "$h" "$a" | cut -d' ' -f1)
		[ -n "$e" ] || return 1
		[ -z "$first" ] && first=$e
		lo=$((first - 1)) hi=$((first + 1))
		[ "$e" -ge "$lo" ] && [ "$e" -le "$hi" ] || { diag "$a: $h ends at $e, first $first"; return 1; }
	done
}

# reach SRC HOST: can SRC open TCP to HOST's sshd (the hub: its att0 side, port 4222 is
# not there, so ping)?
reach() {
	local src=$1 h=$2 dst
	if [ "$h" = hub ]; then
		case $src in *:*) dst=2001:db8:64::1 ;; *) dst=198.18.64.1 ;; esac
		ip netns exec "${NS[att]}" ping -n -q -c 1 -W 1 -I "$src" "$dst" >/dev/null 2>&1
		return
	fi
	case $src in *:*) dst=$(edge_ip6 "$h") ;; *) dst=$(edge_ip "$h") ;; esac
	ip netns exec "${NS[att]}" timeout 2 nc -z -w 1 -s "$src" "$dst" 22 >/dev/null 2>&1
}
# dropped_exactly SRC HOSTS: SRC's traffic is dropped at these and passes elsewhere.
dropped_exactly() {
	local src=$1 h
	for h in $HOSTS; do
		if [[ " $2 " == *" $h "* ]]; then
			reach "$src" "$h" && { diag "$src reaches $h"; return 1; }
		else
			reach "$src" "$h" || { diag "$src does not reach $h"; return 1; }
		fi
	done
	return 0
}
fleet_of() { st "$1" | jq -r ".daemon.fleet.$2"; }

# edge1's /metrics (issue 17), on its namespace's loopback.
MURL=http://127.0.0.1:9477/metrics
# shellcheck source=tests/lib/dashboard.sh
. "$TOP/tests/lib/dashboard.sh"
scrape_to() { ip netns exec "${NS[edge1]}" curl -sS -f -m 5 -o "$1" "$MURL"; }
# mval FILE NAME: the value of the unlabelled sample NAME in a scrape.
mval() { N=$2 awk '$1 == ENVIRON["N"] { print $2; f = 1 } END { exit !f }' "$1"; }
# metric_is NAME VALUE, metric_ge NAME VALUE: a fresh scrape of edge1 says so.
metric_is() { scrape_to "$LAB/m.now" && [ "$(mval "$LAB/m.now" "$1")" = "$2" ]; }
metric_ge() { scrape_to "$LAB/m.now" && [ "$(mval "$LAB/m.now" "$1")" -ge "$2" ]; }
promtool_ok() { # promtool_ok FILE
	promtool check metrics <"$1" >"$LAB/promtool.log" 2>&1 && return
	sed 's/^/# /' "$LAB/promtool.log"
	return 1
}
# fleet_metrics_are_status: a scrape, edge1's status, a scrape; the fleet's
# samples did not move across, and they are what status says (outbox;
# applied + extended). The values land in $LAB/m.same ("APPLIED OUTBOX").
fleet_metrics_are_status() {
	local s a o m1 m2
	scrape_to "$LAB/m.1" && s=$(st edge1) && scrape_to "$LAB/m.2" || return 1
	m1=$(grep -E '^xdpban_fleet_(outbox|decisions_applied_total) ' "$LAB/m.1")
	m2=$(grep -E '^xdpban_fleet_(outbox|decisions_applied_total) ' "$LAB/m.2")
	[ "$m1" = "$m2" ] || return 1   # it moved: try again
	a=$(jq '.daemon.fleet | .applied + .extended' <<<"$s") o=$(jq .daemon.fleet.outbox <<<"$s")
	if [ "$(mval "$LAB/m.1" xdpban_fleet_decisions_applied_total)" != "$a" ] ||
	   [ "$(mval "$LAB/m.1" xdpban_fleet_outbox)" != "$o" ]; then
		echo "metrics: $(echo $m1); status: applied+extended $a, outbox $o" >"$LAB/m.diff"
		return 1
	fi
	echo "$a $o" >"$LAB/m.same"
}
# check_fleet_metrics NAME: fleet_metrics_are_status within 5 s.
check_fleet_metrics() {
	rm -f "$LAB/m.diff" "$LAB/m.same"
	if wait_until 5 fleet_metrics_are_status; then
		ok "$1 (applied $(cut -d' ' -f1 "$LAB/m.same"), outbox $(cut -d' ' -f2 "$LAB/m.same"))"
	else
		not_ok "$1"
		[ -f "$LAB/m.diff" ] && diag "$(cat "$LAB/m.diff")"
	fi
}

# --- set-up ------------------------------------------------------------------
T0=$(date +%s)
check "network: hub, 3 edges, attacker" net_up
check "certificates (openssl): a CA, the broker, one per host" certs
fl_nats_conf
rules
fl_hosts_conf || { not_ok "bpffs for the hosts"; exit 1; }
sed -i 's|^  <control_socket>.*|&\n  <metrics>127.0.0.1:9477</metrics>|' "$LAB/edge1/xdpban.conf"
check "run --check accepts every host's config" bash -c \
	"for h in $HOSTS; do '$XDPBAN' run --check --config '$LAB'/\$h/xdpban.conf >/dev/null || exit 1; done"
check "nats-server with JetStream and TLS" nats_up
for e in edge1 edge2 edge3; do check "$e: sshd" sshd_up "$e"; done
for h in $HOSTS; do check "$h: xdpban run connects to the broker" xb_up "$h"; done
check "the manager saw every host's hello" wait_until 5 bash -c \
	"[ \$(XDPBAN_PIN_DIR=${PIN[hub]} '$XDPBAN' status --json --socket '$LAB/hub/xdpban.sock' | jq '.daemon.fleet.agents | length') = 4 ]"

check "edge1 serves /metrics on its loopback" grep -q 'metrics on http://127.0.0.1:9477/metrics' "$LAB/edge1/xdpban.log"
scrape_to "$LAB/m.up"
check "edge1 /metrics with the fleet on: promtool check metrics accepts it" promtool_ok "$LAB/m.up"
check "edge1 /metrics: xdpban_fleet_connected 1 while connected" test "$(mval "$LAB/m.up" xdpban_fleet_connected)" = 1
check "edge1 /metrics: the outbox gauge and the applied counter are there" bash -c \
	"grep -q '^xdpban_fleet_outbox [0-9]' '$LAB/m.up' && grep -q '^xdpban_fleet_decisions_applied_total [0-9]' '$LAB/m.up'"
check "every fleet metric the dashboard uses is in edge1's scrape" \
	dashboard_names_in "$LAB/m.up" '^xdpban_fleet_'
dashboard_parses "$LAB"

# --- security: the broker's refusals, with a real agent's certificate -------
P=$LAB/pki
probe() { ip netns exec "${NS[hub]}" $PROBE $BROKER 4222 "$P/ca.pem" "$@"; }
# refused PATTERN CMD...: CMD fails, saying PATTERN (not just any failure).
refused() {
	local pat=$1 out
	shift
	out=$("$@" 2>&1) && { diag "allowed: $out"; return 1; }
	grep -qiE "$pat" <<<"$out" || { diag "refused for another reason: $out"; return 1; }
}
PV='Permissions Violation'

check "edge1 may publish its own reports" probe "$P/edge1.pem" "$P/edge1.key" pub xdpban.report.edge1 '{}'
check "edge1 may not publish edge2's reports" refused "$PV" probe "$P/edge1.pem" "$P/edge1.key" pub xdpban.report.edge2 '{}'
check "edge1 may not write a decision" refused "$PV" probe "$P/edge1.pem" "$P/edge1.key" pub '$KV.xdpban-decisions.all.198-18-70-99.firewall-drop' '{}'
check "edge1 may not delete the reports stream" refused "$PV" probe "$P/edge1.pem" "$P/edge1.key" pub '$JS.API.STREAM.DELETE.XDPBAN_REPORTS' ''
check "edge1 may not read edge2's decisions" refused "$PV" probe "$P/edge1.pem" "$P/edge1.key" pub \
	'$JS.API.CONSUMER.CREATE.KV_xdpban-decisions.x.$KV.xdpban-decisions.edge2.>' '{}'
check "edge1 may not subscribe to the decisions directly" refused "$PV" probe "$P/edge1.pem" "$P/edge1.key" sub '$KV.>'
check "a client without a certificate is refused" refused 'certificate|handshake|alert|reset|EOF' probe - - pub xdpban.report.edge1 '{}'
# A report that names a fleet host (edge2's own address) bans nobody.
forged="{\"v\":1,\"type\":\"alert\",\"id\":\"edge1-forged-1\",\"agent\":\"edge1\",\"ts\":$(date +%s),"
forged+="\"addr\":\"198.18.60.12\",\"cmd\":\"firewall-drop\",\"rule\":5712,\"level\":10,\"groups\":\"\"}"
probe "$P/edge1.pem" "$P/edge1.key" pub xdpban.report.edge1 "$forged" >/dev/null
check "a report naming edge2's address is refused by the manager" \
	wait_until 5 grep -q 'not banning 198.18.60.12 reported by edge1: .*fleet host edge2' "$LAB/hub/xdpban.log"
check "... and bans nobody" bans_are 198.18.60.12 ""
# A pack (an agent's <report_pack>): its reports one a line, each decided
# alone; a line naming another agent is refused, the rest stands.
rep() {
	printf '{"v":1,"type":"alert","id":"%s","agent":"%s","ts":%s,"addr":"%s","cmd":"firewall-drop","rule":5712,"level":10,"groups":""}' \
		"$1" "$2" "$(date +%s)" "$3"
}
pack="$(rep edge1-pack-1 edge1 198.18.70.21)"$'\n'"$(rep edge2-pack-2 edge2 198.18.70.23)"
pack+=$'\n'"$(rep edge1-pack-3 edge1 198.18.70.22)"
probe "$P/edge1.pem" "$P/edge1.key" pub xdpban.report.edge1 "$pack" >/dev/null
pack_banned() { bans_are 198.18.70.21 "$HOSTS" && bans_are 198.18.70.22 "$HOSTS"; }
check "a pack of reports: each of edge1's is decided (location all)" wait_until 10 pack_banned
check "... its line naming edge2 is refused, and bans nobody" bans_are 198.18.70.23 ""
check "the manager refuses a manual ban of the broker" refused "broker|this host" \
	xb hub ban --socket "$LAB/hub/xdpban.sock" --location all 198.18.60.1
check "an agent's manual fleet ban is refused" refused "made on the manager" \
	xb edge1 ban --socket "$LAB/edge1/xdpban.sock" --location all 198.18.70.99

# --- location all; edge3 away; an expired decision -------------------------
xb_down edge3
check "manual ban --location all --ttl 4 (edge3 stopped)" \
	xb hub ban --socket "$LAB/hub/xdpban.sock" --location all --ttl 4 198.18.70.18
check "... reaches hub, edge1, edge2" wait_until 3 bans_are 198.18.70.18 "hub edge1 edge2"
t=$(now_ms)
attack edge1 198.18.70.11 user 8
check "all: edge1 bans 198.18.70.11 (rule 5712) at once" banned_at edge1 198.18.70.11
check "all: the fleet decision follows to hub and edge2" \
	wait_until 3 bans_are 198.18.70.11 "hub edge1 edge2"
# log_ms HOST PATTERN: the time (ms) of HOST's first log line matching PATTERN.
log_ms() {
	local ts
	ts=$(grep -m1 -E "$2" "$LAB/$1/xdpban.log" | cut -d' ' -f1)
	[ -n "$ts" ] && echo $(($(date -d "${ts}Z" +%s%N) / 1000000))
}
t1=$(log_ms edge1 'ban 198.18.70.11 ') t2=$(log_ms edge2 'ban 198.18.70.11 ')
[ -n "$t1" ] && [ -n "$t2" ] &&
	diag "all: propagation, edge1's ban to edge2's map (via the manager): $((t2 - t1)) ms"
check "all: one end on every host (+-1 s)" same_end 198.18.70.11 hub edge1 edge2
check "all: 198.18.70.11 is dropped at hub, edge1, edge2, passes at edge3 (stopped)" \
	dropped_exactly 198.18.70.11 "hub edge1 edge2"
sleep 4         # the manual ban's 4 s are over
check "edge3 returns" xb_up edge3
check "edge3 enforces the remaining time of 198.18.70.11 (same end)" \
	wait_until 3 same_end 198.18.70.11 hub edge1 edge3
left=$(( $(ban_of edge3 198.18.70.11 | cut -d' ' -f1) - $(date +%s) ))
check "... $left s left, not a fresh 90 s" test "$left" -lt 85
check_fails "edge3 never applies the expired manual ban" banned_at edge3 198.18.70.18
# kv_msg KEY: the bucket's last message of KEY, as the JetStream API gives it.
kv_msg() {
	probe "$P/manager.pem" "$P/manager.key" req '$JS.API.STREAM.MSG.GET.KV_xdpban-decisions' \
		"{\"last_by_subj\":\"\$KV.xdpban-decisions.$1\"}"
}
kv_gone() { kv_msg "$1" | grep -q '"code":404'; }
kv_msgs() {
	probe "$P/manager.pem" "$P/manager.key" req '$JS.API.STREAM.INFO.KV_xdpban-decisions' '' |
		jq -r .state.messages
}
kv_has() { kv_msg "$1" | grep -q '"subject"'; }
kv_fewer() { [ "$(kv_msgs)" -lt "$1" ]; }
check "the bucket holds 198.18.70.11's decision (in force)" kv_has all.198-18-70-11.firewall-drop
check "the ended manual ban's key left the bucket (purged, not a marker)" \
	wait_until 5 kv_gone all.198-18-70-18.firewall-drop
check "traffic from 198.18.70.11 is dropped at every host now" dropped_exactly 198.18.70.11 "$HOSTS"

# --- defined-agent (IPv6), server + grace, local -----------------------------
attack edge1 2001:db8:70::12 da- 6
check "defined-agent: 2001:db8:70::12 seen on edge1 is banned on edge2 and edge3 only" \
	wait_until 3 bans_are 2001:db8:70::12 "edge2 edge3"
check "defined-agent: one end (+-1 s)" same_end 2001:db8:70::12 edge2 edge3
check "defined-agent: dropped at edge2 and edge3, passes at hub and edge1" \
	dropped_exactly 2001:db8:70::12 "edge2 edge3"

decided=$(fleet_of hub decided)
attack edge1 198.18.70.13 sv- 6 & a1=$!
attack edge2 198.18.70.13 sv- 6 & a2=$!
attack edge3 198.18.70.13 sv- 6 & a3=$!
wait $a1 $a2 $a3
check "server: 198.18.70.13 (seen on three edges) is banned at the hub only" \
	wait_until 3 bans_are 198.18.70.13 hub
check "server: the three edges reported it" bash -c \
	"[ \$(cat '$LAB'/edge?/xdpban.log | grep -c 'report 198.18.70.13 ') -ge 3 ]"
check "server: three reports of one attack count one offence" \
	test "$(ban_of hub 198.18.70.13 | cut -d' ' -f2)" = 1
check "server: one decision, two within the grace" fleet_is hub decided $((decided + 1))
check "server: dropped at the hub only" dropped_exactly 198.18.70.13 hub

attack edge3 198.18.70.14 lo- 6
check "local: 198.18.70.14 is banned on edge3 only" wait_until 2 bans_are 198.18.70.14 edge3
check "local: still reported to the manager" grep -q 'edge3 reports 198.18.70.14 (rule 100121): decided there' "$LAB/hub/xdpban.log"

# --- escalation across edges -------------------------------------------------
attack edge1 198.18.70.15 es- 6
check "escalation: first offence on edge1: 6 s everywhere" \
	wait_until 3 bans_are 198.18.70.15 "$HOSTS"
msgs=$(kv_msgs)
check "escalation: the ban ends everywhere" wait_until 10 bans_are 198.18.70.15 ""
check "... and its key leaves the bucket: it does not grow with ended decisions ($msgs messages)" \
	wait_until 5 kv_fewer "$msgs"
attack edge2 198.18.70.15 es- 6
check "escalation: second offence, seen on edge2, banned everywhere" \
	wait_until 3 bans_are 198.18.70.15 "$HOSTS"
check "escalation: offence 2 on edge3 too" test "$(ban_of edge3 198.18.70.15 | cut -d' ' -f2)" = 2
left=$(( $(ban_of edge3 198.18.70.15 | cut -d' ' -f1) - $(date +%s) ))
check "escalation: 2 minutes (repeated_offenders 2), $left s left" test "$left" -gt 100
check "escalation: one end (+-1 s)" same_end 198.18.70.15 $HOSTS

# --- the broker killed ----------------------------------------------------------
check_fleet_metrics "edge1 /metrics: decisions applied and outbox = status --json at one moment"
check "... edge1 applied fleet decisions (> 0)" test "$(cut -d' ' -f1 "$LAB/m.same" 2>/dev/null)" -gt 0
applied=$(cut -d' ' -f1 "$LAB/m.same" 2>/dev/null)
nats_down
t=$(now_ms)
check "broker down: edge1 status shows the broker not connected" \
	wait_until 5 fleet_is edge1 connected false
if wait_until 5 metric_is xdpban_fleet_connected 0; then
	ok "broker down: xdpban_fleet_connected goes to 0"
	diag "broker down: xdpban_fleet_connected 0 within $(($(now_ms) - t)) ms of the kill"
else
	not_ok "broker down: xdpban_fleet_connected goes to 0"
fi
attack edge1 198.18.70.16 user 8
check "broker down: edge1 bans 198.18.70.16 locally" banned_at edge1 198.18.70.16
check "broker down: the report waits in edge1's outbox" fleet_ge edge1 outbox 1
check "broker down: the outbox gauge counts it (> 0)" metric_ge xdpban_fleet_outbox 1
check_fleet_metrics "broker down: outbox and decisions applied = status --json"
check "broker down: /metrics still passes promtool" promtool_ok "$LAB/m.1"
sleep 1
check "broker down: status gives the lag and says NOT CONNECTED" bash -c \
	"XDPBAN_PIN_DIR=${PIN[edge1]} '$XDPBAN' status --socket '$LAB/edge1/xdpban.sock' |
	 grep -E '^fleet: agent edge1, broker NOT CONNECTED.*outbox [1-9][0-9]* of 10000, the oldest waiting [0-9]+s'"
check "broker back" nats_up
t=$(now_ms)
if wait_until 15 metric_is xdpban_fleet_connected 1; then
	ok "broker back: xdpban_fleet_connected is 1 again"
	diag "broker back: xdpban_fleet_connected 1 within $(($(now_ms) - t)) ms of the restart"
else
	not_ok "broker back: xdpban_fleet_connected is 1 again"
fi
check "broker back: the report arrives, all hosts ban 198.18.70.16" \
	wait_until 10 bans_are 198.18.70.16 "$HOSTS"
check "broker back: offence 1, once" test "$(ban_of edge3 198.18.70.16 | cut -d' ' -f2)" = 1
check "broker back: edge1's outbox is empty" wait_until 5 fleet_is edge1 outbox 0
check "broker back: the outbox gauge drains to 0" wait_until 5 metric_is xdpban_fleet_outbox 0
check_fleet_metrics "broker back: outbox and decisions applied = status --json"
check "broker back: decisions applied did not go down (was ${applied:-?})" \
	test "$(cut -d' ' -f1 "$LAB/m.same" 2>/dev/null)" -ge "${applied:-0}"

# --- the manager killed mid-stream ----------------------------------------------
xb_kill hub
attack edge2 198.18.70.17 user 8
check "manager down: edge2 bans 198.18.70.17 locally" banned_at edge2 198.18.70.17
check "manager down: the report is in the stream, acked by the broker" \
	wait_until 5 fleet_is edge2 outbox 0
check "manager back" xb_up hub
check "manager back: it decides on the waiting report" \
	wait_until 15 bans_are 198.18.70.17 "$HOSTS"
xb_down hub
check "manager restarted again" xb_up hub
sleep 1
check "... and counts the report once (offence 1)" \
	test "$(grep -c 'decide 198.18.70.17 ' "$LAB/hub/xdpban.log")" = 1
# --- manual decisions: defined-agent, and lifts --------------------------------
check "manual ban --location defined-agent --agent-id edge1,edge3" \
	xb hub ban --socket "$LAB/hub/xdpban.sock" --location defined-agent --agent-id edge1,edge3 \
	--ttl 60 198.18.70.19
check "... bans at edge1 and edge3 only, one end" \
	wait_until 3 bans_are 198.18.70.19 "edge1 edge3"
check "... one end (+-1 s)" same_end 198.18.70.19 edge1 edge3
check "manual unban --location all lifts 198.18.70.17 everywhere" \
	xb hub unban --socket "$LAB/hub/xdpban.sock" --location all 198.18.70.17
check "... every host lifted it" wait_until 3 bans_are 198.18.70.17 ""
check "manual unban --location defined-agent lifts 198.18.70.19 at edge1 and edge3" \
	xb hub unban --socket "$LAB/hub/xdpban.sock" --location defined-agent --agent-id edge1,edge3 \
	198.18.70.19
check "... lifted" wait_until 3 bans_are 198.18.70.19 ""

# --- one agent floods: the rest of its reports waits, none is dropped -----
flood="{\"v\":1,\"type\":\"alert\",\"id\":\"edge1-flood-1\",\"agent\":\"edge1\",\"ts\":$(date +%s),"
flood+="\"addr\":\"198.18.70.20\",\"cmd\":\"firewall-drop\",\"rule\":100121,\"level\":10,\"groups\":\"\"}"
check "edge1 floods 600 reports on its subject" probe "$P/edge1.pem" "$P/edge1.key" pub xdpban.report.edge1 "$flood" 600
check "the manager delays what is over edge1's report_rate (200/s)" wait_until 5 fleet_ge hub delayed 1
check "... and the flood bans nobody" bans_are 198.18.70.20 ""
check "status --json: the manager's fleet" bash -c \
	"XDPBAN_PIN_DIR=${PIN[hub]} '$XDPBAN' status --json --socket '$LAB/hub/xdpban.sock' |
	 jq -e '.daemon.fleet | .role == \"manager\" and .connected and (.agents | length) == 4'"
check "status names the fleet" bash -c \
	"XDPBAN_PIN_DIR=${PIN[edge1]} '$XDPBAN' status --socket '$LAB/edge1/xdpban.sock' | grep -q '^fleet: agent edge1, broker connected'"
diag "took $(($(date +%s) - T0)) s"
if [ "$_FAILS" -gt 0 ]; then
	for h in $HOSTS; do diag "--- $h"; tail -25 "$LAB/$h/xdpban.log" | sed 's/^/# /'; done
	grep -i 'violation\|error' "$LAB/nats.log" | tail -10 | sed 's/^/# /'
fi
exit "$_FAILS"
