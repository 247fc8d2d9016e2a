#!/bin/bash
# <metrics>: the daemon serves Prometheus' text format at /metrics from its
# own loop. promtool accepts the live output, and the numbers are those of
# `xdpban stats --json`, `list` and the control socket's status.
. "$(dirname "$0")/lib.sh"
need_root

T=$(mktemp -d /tmp/xdpban-metrics-XXXXXX)
on_exit "rm -rf '$T'"
pin_dir_new metrics
ns_add d
ns_add a
D=$(ns_name d)
A=$(ns_name a)
veth "$D" xbm0 "$A" xbm1
addr "$D" xbm0 198.18.10.1/24
addr "$A" xbm1 198.18.10.7/24

LOG=$T/auth.log SOCK=$T/ctl.sock URL=http://127.0.0.1:9477/metrics
: >"$LOG"
conf() {        # conf METRICS_ELEMENT
	cat >"$T/xdpban.conf" <<XML
<xdpban>
  <interface mode="generic">xbm0</interface>
  <source type="file">$LOG</source>
  <rules_dir>$TOP/rules</rules_dir>
  <state_dir>$T/state</state_dir>
  <control_socket>$SOCK</control_socket>
  $1
  <active-response><command>firewall-drop</command><location>local</location>
    <rules_id>5712</rules_id><timeout>600</timeout></active-response>
</xdpban>
XML
}
quiet() { "$@" >/dev/null; }
scrape() { ip netns exec "$D" curl -sS -m 5 "$@"; }
# value NAME [LABELS]: one sample of the scrape in $T/m
value() {
	local k=$1
	[ -n "${2:-}" ] && k="$1{$2}"
	K=$k awk '$1 == ENVIRON["K"] { print $2; found = 1 } END { exit !found }' "$T/m"
}

for bad in '<metrics>localhost:9477</metrics>' '<metrics>127.0.0.1:0</metrics>' '<metrics>[::1]9477</metrics>'; do
	conf "$bad"
	out=$(ip netns exec "$D" "$XDPBAN" run --config "$T/xdpban.conf" --foreground --dry-run 2>&1)
	check "refused with file:line: $bad" grep -q "xdpban.conf:[0-9]*: <metrics> needs" <<<"$out"
done

conf '<metrics>127.0.0.1:9477</metrics>'
ip netns exec "$D" "$XDPBAN" run --config "$T/xdpban.conf" --foreground >"$T/daemon.log" 2>&1 &
bg_track $!
wait_until 20 grep -q 'ready' "$T/daemon.log" || { not_ok "daemon ready"; cat "$T/daemon.log"; exit 1; }
check "listens where <metrics> says, logged" grep -q 'metrics on http://127.0.0.1:9477/metrics' "$T/daemon.log"

# Eight invalid users from .7 fire rule 5712 and ban it; then its pings drop.
for i in $(seq 8); do
	echo "$(date '+%b %e %H:%M:%S') host sshd[$((2000 + i))]: Invalid user m$i from 198.18.10.7 port $((41000 + i))" >>"$LOG"
done
wait_until 10 bash -c "'$XDPBAN' list --json | jq -e 'length == 1'" || not_ok "the offender is banned"
ip netns exec "$A" ping -q -c 3 -W 1 198.18.10.1 >/dev/null 2>&1
"$XDPBAN" ban 198.18.200.0/24 --ttl 1h >/dev/null

"$XDPBAN" stats --json >"$T/stats0"
scrape -o "$T/m" -w '%{http_code} %{content_type}\n' "$URL" >"$T/code"
check "GET /metrics answers 200 in the text format" grep -q '^200 text/plain; version=0.0.4' "$T/code"
if promtool check metrics <"$T/m" >"$T/promtool.log" 2>&1; then
	ok "promtool check metrics accepts the live output"
else
	not_ok "promtool check metrics accepts the live output"
	sed 's/^/# /' "$T/promtool.log"
fi
"$XDPBAN" stats --json >"$T/stats"
st=$(echo status | timeout 5 socat - "UNIX-CONNECT:$SOCK")
sj() { jq -r "$1" "$T/stats"; }
# A stray frame (an IPv6 neighbour probe, a late ping) may pass between the
# scrape and stats: the passing counters are bracketed by stats read before
# and after it. Nothing else reaches the attacker's ban, so drops are equal.
within() { # within NAME JQ [LABELS]
	local v; v=$(value "$1" "${3:-}") || return 1
	[ "$(jq -r "$2" "$T/stats0")" -le "$v" ] && [ "$v" -le "$(sj "$2")" ]
}
check "seen = stats.seen" within xdpban_xdp_frames_seen_total .seen
check "frames{drop} = stats.dropped (> 0)" \
	bash -c "[ '$(value xdpban_xdp_frames_total 'verdict="drop"')' = '$(sj .dropped)' ] && [ '$(sj .dropped)' -gt 0 ]"
check "frames{pass} = stats.passed" within xdpban_xdp_frames_total .passed 'verdict="pass"'
check "dropped bytes = stats.dropped_bytes" [ "$(value xdpban_xdp_dropped_bytes_total)" = "$(sj .dropped_bytes)" ]
check "reasons = stats (prefix, allowed, expired, parse_fail, non_ip)" bash -c "
	[ '$(value xdpban_xdp_frames_reason_total 'verdict="drop",reason="prefix_ban"')' = '$(sj .dropped_prefix)' ] &&
	[ '$(value xdpban_xdp_frames_reason_total 'verdict="pass",reason="allow_list"')' = '$(sj .passed_allowed)' ] &&
	[ '$(value xdpban_xdp_frames_reason_total 'verdict="pass",reason="ban_expired"')' = '$(sj .passed_expired)' ] &&
	[ '$(value xdpban_xdp_frames_reason_total 'verdict="pass",reason="malformed"')' = '$(sj .parse_fail)' ] &&
	[ '$(value xdpban_xdp_frames_reason_total 'verdict="pass",reason="non_ip"')' = '$(sj .non_ip)' ]"
check "bans by family, kind, origin: the daemon's exact IPv4 and the manual prefix" bash -c "
	[ '$(value xdpban_bans 'family="ipv4",kind="exact",origin="daemon"')' = 1 ] &&
	[ '$(value xdpban_bans 'family="ipv4",kind="prefix",origin="manual"')' = 1 ] &&
	[ '$(value xdpban_bans 'family="ipv6",kind="exact",origin="daemon"')' = 0 ]"
check "ban table: 1 IPv4 entry of a non-zero capacity" bash -c "
	[ '$(value xdpban_ban_table_entries 'family="ipv4"')' = 1 ] && [ '$(value xdpban_ban_table_capacity 'family="ipv4"')' -gt 0 ]"
alerts=$(awk '/^xdpban_alerts_total\{/ { n += $2 } END { print n + 0 }' "$T/m")
check "alerts by rule id add up to status alerts ($alerts), 5712 among them" \
	bash -c "[ '$alerts' = '$(jq .alerts <<<"$st")' ] && [ '$(value xdpban_alerts_total 'rule="5712"')' -ge 1 ]"
src=$(jq -r '.sources[0].name' <<<"$st")
check "lines per source = status ($src)" [ "$(value xdpban_source_lines_total "source=\"$src\"")" = "$(jq '.sources[0].lines' <<<"$st")" ]
check "source lag present" quiet value xdpban_source_lag_seconds "source=\"$src\""
check "decisions{ban} = status bans" [ "$(value xdpban_decisions_total 'action="ban"')" = "$(jq .bans <<<"$st")" ]
check "responses: applied and failures as in status" bash -c "[ '$(value xdpban_responses_total 'action="applied"')' = '$(jq .responses.applied <<<"$st")' ] &&
	[ '$(value xdpban_response_failures_total 'reason="script_hung"')' = '$(jq .responses.hung <<<"$st")' ] &&
	[ '$(value xdpban_responses_active)' = '$(jq .responses.active <<<"$st")' ]"
check "a path other than /metrics is 404" [ "$(scrape -o /dev/null -w '%{http_code}' http://127.0.0.1:9477/)" = 404 ]
check "POST is refused (405)" [ "$(scrape -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9477/metrics)" = 405 ]
# The loop stays responsive with a scraper that connects and says nothing.
ip netns exec "$D" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9477; sleep 4' &
idle=$!
bg_track "$idle"
sleep 0.5
check "status answers while a scraper idles" bash -c "echo status | timeout 3 socat - UNIX-CONNECT:$SOCK | jq -e .ok >/dev/null"
check "a second scrape works meanwhile" [ "$(scrape -o /dev/null -w '%{http_code}' "$URL")" = 200 ]
wait "$idle"

# The dashboard in the tree: its queries parse, and the names they use (but
# the fleet's, which only a daemon with <fleet> has: tests/e2e/test_fleet.sh
# checks those) are in the live output.
# shellcheck source=tests/lib/dashboard.sh
. "$TOP/tests/lib/dashboard.sh"
dashboard_parses "$T"
check "every metric the dashboard uses (but the fleet's) is in the scrape" \
	dashboard_names_in "$T/m" -v '^xdpban_fleet_'
