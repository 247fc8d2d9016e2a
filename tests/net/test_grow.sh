#!/bin/bash
# The exact-ban table grows online under a flood from a banned source.
#
#   attacker (a0) ==veth== (e0) edge
#
# The attacker (198.18.1.2) is banned and floods the edge with UDP (a
# bounded count and time) while 50,000 more bans are loaded: the IPv4 table
# grows (10,000 -> one table for them all). Not one frame of the flood may
# reach the edge's IP stack, every ban stays with its end, and the ban's
# counter counts every drop (none lost, none reset). Then the same for IPv6:
# 2001:db8:1::2 banned and flooding while 50,000 IPv6 bans are loaded, a
# legitimate source beside it (2001:db8:1::3) answered throughout, and an
# nftables counter behind XDP (netdev ingress) counting the banned source's
# frames that got past it: zero. Addresses: 198.18.0.0/15, 2001:db8::/32.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

EDGE=$(ns_name edge) ATT=$(ns_name att)
if ! { ns_add edge && ns_add att; }; then not_ok "namespaces"; exit 1; fi
pin_dir_new grow || { not_ok "bpffs pin dir"; exit 1; }
if ! veth "$ATT" a0 "$EDGE" e0; then not_ok "veth pair"; exit 1; fi
addr "$ATT" a0 198.18.1.2/24; addr "$EDGE" e0 198.18.1.1/24
X() { ip netns exec "$EDGE" "$XDPBAN" "$@"; }
T=$(mktemp -d) && on_exit "rm -rf $T"

# field F of `stats --json`; field F of ADDR's entry in `list --json`.
stat() { X stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
json() {
	X list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["addr"] == sys.argv[2]:
        print(e[sys.argv[1]])' "$1" "$2"
}
# IPv4 datagrams that reached the edge's IP stack (past XDP).
ip_in() { ip netns exec "$EDGE" awk '/^Ip: [0-9]/ { print $4 }' /proc/net/snmp; }

check "attach e0" X attach e0
check "table starts at 10,000 bans" test "$(stat capacity4)" = 10000
check "ban the attacker for an hour" X ban 198.18.1.2 --ttl 3600 --reason flood
end0=$(json expires_at 198.18.1.2)
in0=$(ip_in)

# flood SRC DST NAME: UDP from SRC to DST in the background ($flood), at
# most 3,000,000 datagrams or 20 s, or until $T/stop-NAME exists; the count
# sent goes to $T/sent-NAME.
flood() {
	udp_flood "$ATT" "$1" "$2" "$T/stop-$3" "$T/sent-$3"
	flood=$!
}

# The flood: UDP to the edge.
flood 198.18.1.2 198.18.1.1 v4
check "the flood is being dropped" wait_until 5 sh -c "test \"\$(ip netns exec $EDGE $XDPBAN list --json |
	python3 -c 'import json,sys; print([e[\"packets\"] for e in json.load(sys.stdin)][0])')\" -gt 1000"
p_before=$(json packets 198.18.1.2)

# 50,000 bans from 198.19.0.0/16 while the flood goes on: two growths.
python3 -c '
for i in range(50000):
    print("198.19.%d.%d" % (i >> 8, i & 255))' >"$T/bans"
t0=$(now_ms)
check "50,000 bans loaded during the flood (a growth)" X ban --file "$T/bans" --ttl 7200
t1=$(now_ms)
diag "bulk ban with two growths: $((t1 - t0)) ms"
check "still flooding after the growths" kill -0 $flood
touch "$T/stop-v4"
wait $flood
sent=$(cat "$T/sent-v4" 2>/dev/null)
diag "flood: ${sent:-?} datagrams sent"

check "the table grew to hold them all (capacity $(stat capacity4))" test "$(stat capacity4)" -ge 50001
check "every ban is held (50,001)" test "$(stat bans4)" = 50001
check "no frame of the banned source reached the edge (Ip InReceives +$(($(ip_in) - in0)))" \
	test "$(ip_in)" = "$in0"
p_after=$(json packets 198.18.1.2)
dropped=$(stat dropped)
diag "ban counter: $p_before before the growths, $p_after after; XDP dropped $dropped"
check "the ban's counter was not reset ($p_before -> $p_after)" test "$p_after" -gt "$p_before"
check "the ban's counter counts every drop ($p_after of $dropped)" test "$p_after" = "$dropped"
end1=$(json expires_at 198.18.1.2)
check "the ban keeps its end ($end0 -> $end1)" \
	python3 -c 'import sys; sys.exit(abs(int(sys.argv[1]) - int(sys.argv[2])) > 1)' "$end0" "$end1"
check "its reason is kept" test "$(json reason 198.18.1.2)" = flood
check "a bulk ban keeps its end" python3 -c '
import sys, time
v = int(sys.argv[1]); sys.exit(not (time.time() + 7000 < v <= time.time() + 7201))' \
	"$(json expires_at 198.19.195.79)"
# A grown table's program instance is the same build (the same tag): an
# attach elsewhere finds nothing to upgrade on e0.
veth "$EDGE" xbv0 "$EDGE" xbv1
check "an attach after the growth upgrades nothing (same program tag)" sh -c \
	"ip netns exec $EDGE $XDPBAN attach xbv0 --mode generic 2>&1 | { ! grep 'another xdpban build'; } &&
	ip netns exec $EDGE $XDPBAN detach xbv0 >/dev/null"
check "all 50,000 are listed" sh -c "test \"\$(ip netns exec $EDGE $XDPBAN list --json |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 50001"
check_fails "the attacker is still dropped" ping_ok "$ATT" 198.18.1.1
# The probe itself: once unbanned, the attacker's frames are counted there.
in1=$(ip_in)
check "unban the attacker" X unban 198.18.1.2
check "unbanned, its ping is answered" ping_ok "$ATT" 198.18.1.1
check "and counted in Ip InReceives (the probe works)" test "$(ip_in)" -gt "$in1"
check "no grow_* pins left" sh -c "! ls $XDPBAN_PIN_DIR | grep -q '^grow_'"

# --- IPv6 ------------------------------------------------------------------
addr "$ATT" a0 2001:db8:1::2/64; addr "$ATT" a0 2001:db8:1::3/64; addr "$EDGE" e0 2001:db8:1::1/64
# Static neighbours: resolution from the banned source would be dropped too.
ip -n "$ATT" neigh replace 2001:db8:1::1 lladdr "$(ip -n "$EDGE" -br link show e0 | awk '{print $3}')" \
	dev a0 nud permanent
for a in 2001:db8:1::2 2001:db8:1::3; do
	ip -n "$EDGE" neigh replace $a lladdr "$(ip -n "$ATT" -br link show a0 | awk '{print $3}')" \
		dev e0 nud permanent
done
# Behind XDP: frames of the banned source that got past it.
ip netns exec "$EDGE" nft -f - <<-EOF
	table netdev xbgrow {
		chain in { type filter hook ingress device "e0" priority 0; ip6 saddr 2001:db8:1::2 counter; }
	}
	EOF
passed6() {
	ip netns exec "$EDGE" nft list chain netdev xbgrow in |
		awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'
}
ping6_legit() { ip netns exec "$ATT" ping -6 -n -q -c 1 -W 1 -I 2001:db8:1::3 2001:db8:1::1 >/dev/null 2>&1; }
check "the nft counter behind XDP is there (0)" test "$(passed6)" = 0
check "IPv6 table starts at 10,000 bans" test "$(stat capacity6)" = 10000
check "ban the IPv6 attacker for an hour" X ban 2001:db8:1::2 --ttl 3600 --reason flood6
end0=$(json expires_at 2001:db8:1::2)
d0=$(stat dropped)
flood 2001:db8:1::2 2001:db8:1::1 v6
check "the IPv6 flood is being dropped" wait_until 5 sh -c "test \"\$(ip netns exec $EDGE $XDPBAN list --json |
	python3 -c 'import json,sys; print([e[\"packets\"] for e in json.load(sys.stdin) if e[\"addr\"] == \"2001:db8:1::2\"][0])')\" -gt 1000"
check "a legitimate IPv6 source is answered during the flood" ping6_legit
p_before=$(json packets 2001:db8:1::2)
python3 -c '
for i in range(50000):
    print("2001:db8:3::%x:%x" % (i >> 16, i & 0xffff))' >"$T/bans6"
t0=$(now_ms)
check "50,000 IPv6 bans loaded during the flood (a growth)" X ban --file "$T/bans6" --ttl 7200
diag "IPv6 bulk ban with a growth: $(($(now_ms) - t0)) ms"
check "a legitimate IPv6 source is answered right after the growth" ping6_legit
check "still flooding after the IPv6 growth" kill -0 $flood
touch "$T/stop-v6"
wait $flood
diag "IPv6 flood: $(cat "$T/sent-v6" 2>/dev/null || echo ?) datagrams sent"
check "the IPv6 table grew to hold them all (capacity $(stat capacity6))" test "$(stat capacity6)" -ge 50001
check "every IPv6 ban is held (50,001)" test "$(stat bans6)" = 50001
check "no frame of the banned IPv6 source got past XDP ($(passed6) counted behind it)" test "$(passed6)" = 0
p_after=$(json packets 2001:db8:1::2)
dropped=$(($(stat dropped) - d0))
diag "IPv6 ban counter: $p_before before the growth, $p_after after; XDP dropped $dropped meanwhile"
check "the IPv6 ban's counter was not reset ($p_before -> $p_after)" test "$p_after" -gt "$p_before"
check "the IPv6 ban's counter counts every drop ($p_after of $dropped)" test "$p_after" = "$dropped"
check "the IPv6 ban keeps its end" \
	python3 -c 'import sys; sys.exit(abs(int(sys.argv[1]) - int(sys.argv[2])) > 1)' "$end0" "$(json expires_at 2001:db8:1::2)"
check "its reason is kept" test "$(json reason 2001:db8:1::2)" = flood6
check "the legitimate IPv6 source is still answered" ping6_legit
check "no grow_* pins left after the IPv6 growth" sh -c "! ls $XDPBAN_PIN_DIR | grep -q '^grow_'"
# The probe itself: once unbanned, the source's frames are counted behind XDP.
check "unban the IPv6 attacker" X unban 2001:db8:1::2
ip netns exec "$ATT" ping -6 -n -q -c 1 -W 1 -I 2001:db8:1::2 2001:db8:1::1 >/dev/null 2>&1
check "unbanned, its frames are counted behind XDP: the probe works ($(passed6))" test "$(passed6)" -gt 0
check "detach e0" X detach e0
