#!/bin/bash
# xdpban as a Wazuh agent's firewall-drop: the binary invoked through a
# `firewall-drop` symlink, driven by a harness that replays execd's exchange
# line by line (tests/data/ar/execd.py): add -> check_keys -> continue bans
# (at most the ceiling), abort leaves things be, delete unbans; bad input
# and protected addresses are refused with nothing banned.
. "$(dirname "$0")/lib.sh"
need_root

T=$(mktemp -d /tmp/xdpban-ar-XXXXXX)
on_exit "rm -rf '$T'"
pin_dir_new ar
ns_add e
E=$(ns_name e)
ip -n "$E" addr add 198.18.12.1/32 dev lo     # the host's own address
mkdir -p "$T/bin"
ln -s "$XDPBAN" "$T/bin/firewall-drop"
cat >"$T/xdpban.conf" <<XML
<xdpban><white_list>198.18.13.0/24</white_list><state_dir>$T/state</state_dir></xdpban>
XML
export XDPBAN_CONFIG=$T/xdpban.conf
execd() { ip netns exec "$E" env XDPBAN_CONFIG="$XDPBAN_CONFIG" XDPBAN_PIN_DIR="$XDPBAN_PIN_DIR" \
	RAW="${RAW:-}" python3 "$TOP/tests/data/ar/execd.py" "$T/bin/firewall-drop" "$@" 2>>"$T/stderr"; }
left() { "$XDPBAN" list --json | jq -r --arg a "$1" '.[] | select(.addr == $a) | .expires_in'; }
banned() { [ -n "$(left "$1")" ]; }

OUT=$(execd add 198.18.12.7 continue)
check "add: check_keys answered with the source address" grep -qx "keys 198.18.12.7" <<<"$OUT"
check "add + continue: exit 0" grep -qx "exit 0" <<<"$OUT"
check "add + continue: banned" banned 198.18.12.7
check "add: the ceiling is one day by default ($(left 198.18.12.7) s left)" \
	test "$(left 198.18.12.7)" -le 86400 -a "$(left 198.18.12.7)" -gt 86000
OUT=$(execd add 198.18.12.8 continue 600)
check "add: a ceiling from extra_args ($(left 198.18.12.8) s left)" \
	test "$(left 198.18.12.8)" -le 600 -a "$(left 198.18.12.8)" -gt 590
OUT=$(execd add 2001:db8::7 continue)
check "add: IPv6 banned" banned 2001:db8::7
OUT=$(execd add 198.18.12.9 abort)
check "add + abort: exit 0" grep -qx "exit 0" <<<"$OUT"
check "add + abort: nothing banned" eval '! banned 198.18.12.9'
OUT=$(execd delete 198.18.12.7 continue)
check "delete: exit 0" grep -qx "exit 0" <<<"$OUT"
check "delete: unbanned" eval '! banned 198.18.12.7'
OUT=$(execd delete 198.18.12.7 continue)
check "delete of what is not banned: exit 0" grep -qx "exit 0" <<<"$OUT"

refuse() { # refuse NAME EXIT ADDR [RAW]: refused with that exit, nothing banned
	local out who=$3
	if [ -n "${4:-}" ]; then out=$(RAW=$4 execd add "$3" -); else out=$(execd add "$3" continue); fi
	check "$1: exit $2 ($(tail -1 <<<"$out"))" grep -qx "exit $2" <<<"$out"
	if ! grep -q "^keys" <<<"$out" && { [ -z "$who" ] || ! banned "$who"; }; then
		ok "$1: no check_keys, nothing banned"
	else
		not_ok "$1: no check_keys, nothing banned"
	fi
}
N0=$("$XDPBAN" list --json | jq length)
refuse "bad JSON" 2 198.18.12.20 '{"version":1,'
refuse "not an execd message" 2 198.18.12.21 '{"version":2,"command":"add"}'
refuse "a malformed address" 2 198.18.12.300
refuse "no address" 2 "" '{"version":1,"origin":{},"command":"add","parameters":{"alert":{"data":{}}}}'
refuse "a host name is no address" 2 attacker.example
refuse "an allow-listed address" 4 198.18.13.5
refuse "loopback" 4 127.0.0.1
refuse "the host's own address" 4 198.18.12.1
check "nothing else was banned" test "$("$XDPBAN" list --json | jq length)" = "$N0"
check "each refusal said why on stderr" eval 'grep -c "^xdpban ar: " "$T/stderr" | awk "{exit !(\$1 >= 8)}"'
check "the allow-list refusal names the list" grep -q "refused 198.18.13.5: .*allow list" "$T/stderr"
check "xdpban ar --help works" eval '"$XDPBAN" ar --help | grep -q check_keys'
diag "$(cat "$T/stderr" | head -20)"
