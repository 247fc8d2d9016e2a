#!/bin/bash
# Upgrading the program in place: links left by another xdpban build are
# pointed at this binary's program on the same pinned maps, under a flood.
#
#   attacker (a0) ==veth== (e0) edge (e1) ==veth== (b0) other
#
# prev_attach (tests/bench) puts a stand-in for an earlier build's program
# (xdpban_prev.bpf.c: the same maps, other instructions, so another program
# tag) on e0 and e1, as an earlier `xdpban attach` would have. The attacker
# (198.18.1.2, and 2001:db8:1::2) is banned and floods e0 while
# `xdpban attach e0` replaces e0's program and upgrades e1's (not named);
# then e1 is put back on the old program and `xdpban run` (its config names
# e0 only) upgrades it at start. Behind XDP an nftables counter on e0's
# ingress counts the banned source's frames that got past it: zero. The
# ban's counter is kept and counts every drop; the links' programs change
# id and end with this build's tag. Addresses: 198.18.0.0/15, 2001:db8::/32.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

PREV=$BUILD/bench/prev_attach
[ -x "$PREV" ] || { not_ok "$PREV missing (make tests)"; exit 1; }
EDGE=$(ns_name edge) ATT=$(ns_name att) OTH=$(ns_name oth)
if ! { ns_add edge && ns_add att && ns_add oth; }; then not_ok "namespaces"; exit 1; fi
pin_dir_new upgrade || { not_ok "bpffs pin dir"; exit 1; }
if ! { veth "$ATT" a0 "$EDGE" e0 && veth "$OTH" b0 "$EDGE" e1; }; then not_ok "veth pairs"; exit 1; fi
addr "$ATT" a0 198.18.1.2/24; addr "$EDGE" e0 198.18.1.1/24
addr "$ATT" a0 2001:db8:1::2/64; addr "$EDGE" e0 2001:db8:1::1/64
ip -n "$ATT" neigh replace 2001:db8:1::1 lladdr "$(ip -n "$EDGE" -br link show e0 | awk '{print $3}')" \
	dev a0 nud permanent
X() { ip netns exec "$EDGE" "$XDPBAN" "$@"; }
T=$(mktemp -d) && on_exit "rm -rf $T"

stat() { X stats --json | jq -r ".$1"; }
packets() { X list --json | jq -r --arg a "$1" '.[] | select(.addr == $a) | .packets'; }
prog_id() { bpftool -j link show pinned "$XDPBAN_PIN_DIR/link_$1" | jq -r .prog_id; }
tag_of() { bpftool -j prog show id "$1" | jq -r .tag; }
ip netns exec "$EDGE" nft -f - <<-EOF
	table netdev xbup {
		chain in { type filter hook ingress device "e0" priority 0; ip saddr 198.18.1.2 counter; ip6 saddr 2001:db8:1::2 counter; }
	}
	EOF
passed() {
	ip netns exec "$EDGE" nft list chain netdev xbup in |
		awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

old0=$(ip netns exec "$EDGE" "$PREV" e0 native)
old1=$(ip netns exec "$EDGE" "$PREV" e1 native)
check "the earlier build's program on e0 and e1 (ids $old0, $old1)" test -n "$old0" -a -n "$old1"
oldtag=$(tag_of "$old0")
check "ban the attacker (IPv4 and IPv6)" X ban 198.18.1.2 2001:db8:1::2 --ttl 3600
check "the earlier program drops it" eval "! ping_ok $ATT 198.18.1.1"

# flood SRC DST NAME: UDP in the background, at most 20 s or until $T/stop-NAME.
flood() {
	udp_flood "$ATT" "$1" "$2" "$T/stop-$3" "$T/sent-$3"
	FLOODS+=($!)
}
FLOODS=()
flood 198.18.1.2 198.18.1.1 v4
flood 2001:db8:1::2 2001:db8:1::1 v6
check "the flood is dropped by the earlier program" wait_until 5 sh -c \
	"test \"\$(ip netns exec $EDGE $XDPBAN list --json | jq '[.[].packets] | add')\" -gt 2000"
p4=$(packets 198.18.1.2) p6=$(packets 2001:db8:1::2)

check "xdpban attach e0 during the flood" X attach e0
new0=$(prog_id e0) new1=$(prog_id e1)
newtag=$(tag_of "$new0")
check "e0 runs another program ($old0 -> $new0)" test "$new0" != "$old0"
check "e1, not named, was upgraded too ($old1 -> $new1)" test "$new1" != "$old1"
check "both run this build's program (tag $oldtag -> $newtag)" \
	test "$newtag" != "$oldtag" -a "$(tag_of "$new1")" = "$newtag"
check "the ban's counters go on from where they were (IPv4 $p4 -> $(packets 198.18.1.2))" \
	wait_until 3 sh -c "test \"\$(ip netns exec $EDGE $XDPBAN list --json |
	jq -r '.[] | select(.addr == \"198.18.1.2\") | .packets')\" -gt $p4"
check "(IPv6 $p6 -> $(packets 2001:db8:1::2))" test "$(packets 2001:db8:1::2)" -gt "$p6"
check "a second attach changes nothing on e1 (already this build)" sh -c \
	"ip netns exec $EDGE $XDPBAN attach e0 >/dev/null && test \"\$(bpftool -j link show pinned $XDPBAN_PIN_DIR/link_e1 | jq .prog_id)\" = $new1"

# xdpban run: e1 back on the earlier program, the daemon upgrades it at start.
old1=$(ip netns exec "$EDGE" "$PREV" e1)
check "e1 back on the earlier program ($old1)" test "$(prog_id e1)" = "$old1"
cat >"$T/xdpban.conf" <<XML
<xdpban>
  <interface>e0</interface>
  <source type="file">$T/auth.log</source>
  <rules_dir>$TOP/rules</rules_dir>
  <state_dir>$T/state</state_dir>
  <control_socket>$T/ctl.sock</control_socket>
</xdpban>
XML
: >"$T/auth.log"
ip netns exec "$EDGE" "$XDPBAN" run --config "$T/xdpban.conf" --foreground >"$T/daemon.log" 2>&1 &
dpid=$!
bg_track $dpid
check "xdpban run is ready" wait_until 10 grep -q -E '[0-9] ready' "$T/daemon.log"
check "it upgraded e1 at start ($old1 -> $(prog_id e1))" test "$(tag_of "$(prog_id e1)")" = "$newtag"
check "and said so" grep -q "e1: program of another xdpban build (id $old1) upgraded in place" "$T/daemon.log"
kill "$dpid"; wait "$dpid" 2>/dev/null

touch "$T/stop-v4" "$T/stop-v6"
for p in "${FLOODS[@]}"; do wait "$p"; done
sleep 0.2
check "no frame of the banned source got past XDP ($(passed) counted behind it)" test "$(passed)" = 0
sum=$(X list --json | jq '[.[].packets] | add')
check "the bans' counters count every drop, old program and new ($sum of $(stat dropped))" \
	test "$sum" = "$(stat dropped)"
check "still dropped after the upgrade" eval "! ping_ok $ATT 198.18.1.1"
check "unban the attacker" X unban 198.18.1.2
check "unbanned, it is answered (the new program passes it)" ping_ok "$ATT" 198.18.1.1
check "detach e0 e1" X detach e0 e1
