#!/bin/bash
# xdpban run end to end: a log file in a temp dir is fed sshd lines; the
# daemon (in its own namespace, private bpffs and state) must ban through the
# pinned maps, escalate, aggregate IPv6, protect the allow list and the
# host's addresses, survive a broken reload and a kill -9, and drop traffic.
. "$(dirname "$0")/lib.sh"
need_root

T=$(mktemp -d /tmp/xdpban-daemon-XXXXXX)
on_exit "rm -rf '$T'"
pin_dir_new daemon
ns_add d
ns_add a
D=$(ns_name d)
A=$(ns_name a)
veth "$D" xbd0 "$A" xba0
addr "$D" xbd0 198.18.9.1/24
addr "$A" xba0 198.18.9.7/24
addr "$A" xba0 198.18.9.70/24
ip -n "$D" addr add 198.18.9.200/32 dev lo     # a host address of the daemon's namespace

LOG=$T/auth.log
SOCK=$T/ctl.sock
STATE=$T/state
: > "$LOG"
cat > "$T/local_rules.xml" <<'XML'
<group name="local,syslog,sshd,">
  <!-- Faster correlation for the test: two invalid users fire 5712, no ignore. -->
  <rule id="5712" level="10" frequency="2" timeframe="120" overwrite="yes">
    <if_matched_sid>5710</if_matched_sid>
    <same_source_ip />
    <description>sshd: brute force with non-existent user names (test).</description>
    <group>authentication_failures,</group>
  </rule>
</group>
XML
# write_conf TIMEOUT [EXTRA]: the seed's block plus the test's paths.
write_conf() {
	cat > "$T/xdpban.conf" <<XML
<xdpban>
  <interface mode="generic">xbd0</interface>
  <source type="file">$LOG</source>
  <rules_dir>$TOP/rules</rules_dir>
  <local_rules>$T/local_rules.xml</local_rules>
  <white_list>198.18.8.0/24</white_list>
  <state_dir>$STATE</state_dir>
  <control_socket>$SOCK</control_socket>
  <ipv6_aggregate><threshold>3</threshold></ipv6_aggregate>
  <active-response><command>firewall-drop</command><location>local</location><rules_id>5712</rules_id>
  <timeout>$1</timeout><repeated_offenders>30,60,90</repeated_offenders></active-response>
  ${2:-}
</xdpban>
XML
}

DPID=
start_daemon() {
	ip netns exec "$D" "$XDPBAN" run --config "$T/xdpban.conf" --foreground "$@" >>"$T/daemon.log" 2>&1 &
	DPID=$!
	bg_track "$DPID"
}
ready_count() { grep -c -E '[0-9] ready' "$T/daemon.log"; }
wait_ready() { # wait_ready N: the Nth "ready" line
	local n=$1 i
	for i in $(seq 100); do [ "$(ready_count)" -ge "$n" ] && return 0; sleep 0.1; done
	return 1
}
# offend ADDR [N]: N (default 2) invalid-user lines from ADDR.
offend() {
	local i
	for i in $(seq "${2:-2}"); do
		echo "$(date '+%b %e %H:%M:%S') host sshd[$((1000 + i))]: Invalid user u$i from $1 port $((40000 + i))" >>"$LOG"
	done
}
list_json() { "$XDPBAN" list --json; }
ping70() { ip netns exec "$A" ping -n -q -c 1 -W 1 -I 198.18.9.70 198.18.9.1 >/dev/null 2>&1; }
ban_field() { list_json | jq -r --arg a "$1" ".[] | select(.addr == \$a) | .$2"; }
banned() { [ -n "$(ban_field "$1" addr)" ]; }
# left ADDR: "EXPIRES_IN NOW" - the whole seconds left (rounded down) and the
# wall time (ns precision) they were read at, to compare two readings exactly.
left() { echo "$(ban_field "$1" expires_in) $(date +%s.%N)"; }
# near_left "E0 T0" "E T" LO HI: E - (E0 - (T - T0)) lies within [LO, HI].
near_left() { python3 -c 'import sys
e0, t0 = map(float, sys.argv[1].split()); e, t = map(float, sys.argv[2].split())
d = e - (e0 - (t - t0)); sys.exit(0 if float(sys.argv[3]) <= d <= float(sys.argv[4]) else 1)' "$@"; }
status() { echo status | timeout 5 socat - "UNIX-CONNECT:$SOCK"; }

write_conf 600
# systemd's notify protocol, received the way systemd would (datagrams).
timeout 120 socat -u UNIX-RECV:"$T/notify" OPEN:"$T/notify.log",creat,append &
bg_track $!
wait_until 5 test -S "$T/notify"
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=2000000 start_daemon; wait_ready 1
check "daemon ready" grep -q "ready" "$T/daemon.log"
check "control socket is root-only (0600)" test "$(stat -c %a "$SOCK")" = 600
check "root can use the control socket" eval 'status | grep -q "\"ok\":true"'
# The credential check itself: a hard link to the socket in a directory
# nobody may traverse, so the 0700 temp dir is out of the way; once the
# socket's mode is opened up too, only SO_PEERCRED is left to refuse nobody.
PUB=$(mktemp -d /tmp/xdpban-pub-XXXXXX)
on_exit "rm -rf '$PUB'"
chmod 711 "$PUB"
ln "$SOCK" "$PUB/ctl.sock"
# The daemon answers nobody at once, before any request (-u: only read, or
# a write after the daemon closed could end socat before it reads).
nobody_req() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		timeout 5 socat -u "UNIX-CONNECT:$PUB/ctl.sock" - 2>&1
}
OUT=$(nobody_req)
check "nobody cannot connect to the 0600 socket ($OUT)" grep -q "Permission denied" <<<"$OUT"
chmod 666 "$SOCK"
OUT=$(nobody_req)
chmod 600 "$SOCK"
check "nobody cannot use the control socket: the daemon refuses it ($OUT)" \
	grep -qx '{"ok":false,"error":"permission denied"}' <<<"$OUT"
check "the refusal is logged with nobody's uid" \
	grep -q "ctl: refused a client with uid $(id -u nobody)$" "$T/daemon.log"
check "control socket back to 0600" test "$(stat -c %a "$SOCK")" = 600
check "sd_notify READY=1 sent" wait_until 5 grep -q "READY=1" "$T/notify.log"
check "sd_notify WATCHDOG=1 sent" wait_until 5 grep -q "WATCHDOG=1" "$T/notify.log"
check "state database is root-only" test "$(stat -c %a "$STATE/xdpban.db")" = 600
check "attacker reaches the host before any ban" ping_ok "$A" 198.18.9.1
T0=$(now_ms)
OUT=$(timeout 10 ip netns exec "$D" "$XDPBAN" run --config "$T/xdpban.conf" --foreground \
	--state-dir "$T/state2" 2>&1); RC=$?
MS=$(($(now_ms) - T0))
diag "second daemon: exit $RC after $MS ms: $OUT"
check "a second daemon refuses to start: exit 1 ($RC) at once ($MS ms)" test "$RC" = 1 -a "$MS" -lt 3000
check "a second daemon says why" grep -q \
	"control socket $SOCK: Address already in use (is another xdpban run going?)" <<<"$OUT"
check "a second daemon leaves no state behind" test ! -e "$T/state2"
check "the first one still answers" eval 'status | grep -q "\"ok\":true"'

# The control socket's loop is single-threaded: a client must not hold it.
# A request trickling in (a byte every 0.15 s, 3 s in all) is cut off at
# the 1 s deadline, and another client is answered meanwhile.
T_SLOW=$(now_ms)
( for c in u n b a n n e d ' ' 1 9 8 . 1 8 . 9 . 9 9; do printf %s "$c"; sleep 0.15; done
  echo; sleep 3 ) | timeout 10 socat - "UNIX-CONNECT:$SOCK" >"$T/slow.out" 2>&1 &
SLOW=$!
bg_track "$SLOW"
sleep 0.2
# (socat -t: wait more than its default 0.5 s for the reply)
T0=$(now_ms); S=$(echo status | timeout 5 socat -t 3 - "UNIX-CONNECT:$SOCK"); MS=$(($(now_ms) - T0))
diag "status while a slow client holds on: ${S:0:40}..."
check "status answered within 1.5 s while a slow client holds on ($MS ms)" \
	test "$(jq -r .ok <<<"$S")" = true -a "$MS" -le 1500
wait_until 5 eval "! kill -0 $SLOW"
MS=$(($(now_ms) - T_SLOW))
check "the slow client is cut off within 2.5 s ($MS ms)" test "$MS" -le 2500
check "the slow client is told ($(head -1 "$T/slow.out"))" \
	grep -qx '{"ok":false,"error":"request timed out"}' "$T/slow.out"
OUT=$(printf 'status%300s\n' '' | timeout 5 socat - "UNIX-CONNECT:$SOCK" 2>&1)
check "an over-long request is refused whole ($OUT)" \
	grep -qx '{"ok":false,"error":"request too long"}' <<<"$OUT"

# 1) lines appended to the file lead to the ban in the map
offend 198.18.9.7
check "log lines lead to a ban in the map" wait_until 5 banned 198.18.9.7
check "ban carries rule 5712" test "$(ban_field 198.18.9.7 rule)" = 5712
check "first offence: offence 1" test "$(ban_field 198.18.9.7 offence)" = 1
E=$(ban_field 198.18.9.7 expires_in)
check "first offence: 600 s ($E)" test "${E:-0}" -ge 595 -a "${E:-0}" -le 600
check "banned attacker's packets are dropped" wait_until 3 eval "! ping_ok $A 198.18.9.1"
check "ban is logged with address, rule, offence and timeout" \
	grep -q "ban 198.18.9.7 rule 5712 offence 1 timeout 10m" "$T/daemon.log"

# 2) an offence while still banned re-arms with the next timeout
offend 198.18.9.7
check "second offence re-arms: offence 2" wait_until 5 eval '[ "$(ban_field 198.18.9.7 offence)" = 2 ]'
E=$(ban_field 198.18.9.7 expires_in)
check "second offence: 1800 s ($E)" test "${E:-0}" -ge 1795 -a "${E:-0}" -le 1800
check "re-ban is logged" grep -q "re-ban 198.18.9.7 rule 5712 offence 2 timeout 30m" "$T/daemon.log"

# 3) protected: allow list, the host's own address, also one added later
offend 198.18.8.5
offend 198.18.9.200
ip -n "$D" addr add 198.18.9.201/32 dev lo
sleep 0.3
offend 198.18.9.201
offend 198.18.9.50      # a normal one after them, as a marker
wait_until 5 banned 198.18.9.50
check "allow-listed address not banned" eval '! banned 198.18.8.5'
check "host's own address not banned" eval '! banned 198.18.9.200'
check "address added to the host at run time not banned" eval '! banned 198.18.9.201'
check "refusals are logged" grep -q "not banning: 198.18.9.201" "$T/daemon.log"

# 4) IPv6: the third address of one /64 bans the /64 instead
offend 2001:db8:5:1::a
offend 2001:db8:5:1::b
wait_until 5 banned 2001:db8:5:1::b
offend 2001:db8:5:1::c
check "IPv6 /64 banned after 3 addresses" wait_until 5 eval '[ "$(ban_field 2001:db8:5:1:: prefix)" = 64 ]'
check "single bans inside the /64 are lifted" wait_until 3 eval '! banned 2001:db8:5:1::a'
check "unban logged with rule, offence, timeout" grep -q "unban 2001:db8:5:1::a rule 5712 offence 1 timeout 10m0s: covered" "$T/daemon.log"
# a single ban that outlasts the new prefix ban (offence 2: 1800 s > 600 s) stays
offend 2001:db8:5:2::a
wait_until 5 banned 2001:db8:5:2::a
offend 2001:db8:5:2::a
wait_until 5 eval '[ "$(ban_field 2001:db8:5:2::a offence)" = 2 ]'
offend 2001:db8:5:2::b
wait_until 5 banned 2001:db8:5:2::b
offend 2001:db8:5:2::c
wait_until 5 eval '[ "$(ban_field 2001:db8:5:2:: prefix)" = 64 ]'
check "the shorter single ban inside the new /64 is lifted" wait_until 3 eval '! banned 2001:db8:5:2::b'
E=$(ban_field 2001:db8:5:2::a expires_in)
check "a longer single ban inside the new /64 keeps its end ($E s)" test "${E:-0}" -ge 1790

# 5) a broken config on reload is refused; the old one stays, no ban touched
BEFORE=$(list_json | jq -c 'map({addr, rule, offence})')
cp "$T/xdpban.conf" "$T/good.conf"
echo "<xdpban><active-response><command>firewall-drop</command><tiemout>1</tiemout></active-response></xdpban>" > "$T/xdpban.conf"
OUT=$("$XDPBAN" reload --socket "$SOCK" 2>&1); RC=$?
check "broken reload exits 2 ($RC)" test "$RC" = 2
check "broken reload names file and line" grep -q "xdpban.conf:1: unknown element <tiemout>" <<<"$OUT"
check "bans untouched by the failed reload" test "$(list_json | jq -c 'map({addr, rule, offence})')" = "$BEFORE"
offend 198.18.9.60
check "old config still in force (600 s)" wait_until 5 eval '[ "$(ban_field 198.18.9.60 expires_in)" -ge 595 ]'
# SIGHUP with a good new config: new timeout for new offenders, old bans kept
write_conf 900
kill -HUP "$DPID"
wait_until 5 grep -q "reloaded" "$T/daemon.log"
offend 198.18.9.61
check "SIGHUP reload took the new timeout (900 s)" \
	wait_until 5 eval '[ "$(ban_field 198.18.9.61 expires_in)" -ge 895 ]'
check "bans kept across reload" test "$(ban_field 198.18.9.7 offence)" = 2

# <max_bans> on reload moves the ceiling of the pinned tables (10,000 each now)
ceiling() { "$XDPBAN" stats --json | jq -r .max_bans; }
write_conf 900 "<max_bans>2000000</max_bans>"
check "reload raises <max_bans> (stats max_bans $(
	"$XDPBAN" reload --socket "$SOCK" >/dev/null; ceiling))" test "$(ceiling)" = 2000000
write_conf 900 "<max_bans>10000</max_bans>"
"$XDPBAN" reload --socket "$SOCK" >/dev/null
check "reload lowers <max_bans> to what the tables hold ($(ceiling))" test "$(ceiling)" = 10000
write_conf 900 "<max_bans>5000</max_bans>"
OUT=$("$XDPBAN" reload --socket "$SOCK" 2>&1); RC=$?
check "a <max_bans> below the tables' 10,000 is refused (exit $RC)" test "$RC" = 2
L=$(grep -n '<max_bans>' "$T/xdpban.conf" | cut -d: -f1)
check "the refusal names file and line ($L)" grep -q "xdpban.conf:$L: <max_bans> 5000 is below the 10000" <<<"$OUT"
check "the running ceiling stays ($(ceiling))" test "$(ceiling)" = 10000
write_conf 900
"$XDPBAN" reload --socket "$SOCK" >/dev/null
check "without <max_bans> the default ceiling is back ($(ceiling))" test "$(ceiling)" = 1048576
offend 198.18.9.62
check "the config reloaded after the refusal is in force (900 s)" \
	wait_until 5 eval '[ "$(ban_field 198.18.9.62 expires_in)" -ge 895 ]'

# a ban lifted without telling the daemon is found at its next sweep (<= 30 s)
"$XDPBAN" unban 198.18.9.60 >/dev/null
check "a ban lifted behind the daemon's back is noticed" \
	wait_until 40 grep -q "unban 198.18.9.60 rule 5712 offence 1 timeout 10m0s: lifted outside" "$T/daemon.log"

# 6) kill -9, then: one ban expires while down, one is lost from the maps
write_conf 2
"$XDPBAN" reload --socket "$SOCK" >/dev/null
offend 198.18.9.70                                      # a 2 s ban
wait_until 5 banned 198.18.9.70
check "2 s ban drops" eval "! ping70"
write_conf 600
"$XDPBAN" reload --socket "$SOCK" >/dev/null
# a ban lifted by hand while the daemon runs (the CLI tells the daemon)
"$XDPBAN" unban 198.18.9.50 >/dev/null
check "daemon told of a manual unban" eval 'echo "unbanned 198.18.9.50" | timeout 5 socat - UNIX-CONNECT:$SOCK | grep -q "\"known\":true"'
LIVE_BEFORE=$(list_json | jq -c '[.[] | select(.addr != "198.18.9.70") | .addr] | sort')
L7=$(left 198.18.9.7)
# a daemon ban whose map entry will end up shorter than recorded (as a crash
# between recording a re-arm and updating the map would leave it)
SHORT=$(list_json | jq -r '[.[] | select(.rule == 5712 and .expires_in != null and .expires_in > 100
	and .addr != "198.18.9.7" and .addr != "198.18.9.61")][0].addr')
LS=$(left "$SHORT")
kill -9 "$DPID"; wait "$DPID" 2>/dev/null
echo '<xdpban/>' >"$T/bare.conf"
check "while down, the map entry of $SHORT is shortened to 20 s" \
	env XDPBAN_CONFIG="$T/bare.conf" "$XDPBAN" ban "$SHORT" --ttl 20
check "daemon down: the map keeps dropping" eval "! ping_ok $A 198.18.9.1"
# no config known to this CLI (the default one does not exist): as if the maps lost it
XDPBAN_CONFIG= "$XDPBAN" unban 198.18.9.7 >/dev/null
# the operator lifts a ban while the daemon is stopped: the database forgets it too
XDPBAN_CONFIG=$T/xdpban.conf "$XDPBAN" unban 198.18.9.61 >/dev/null
sleep 3                                                 # the 2 s ban ends meanwhile
check "daemon down: the kernel ends bans on time" ping70
start_daemon; wait_ready 2
check "restarted daemon ready" test "$(ready_count)" -ge 2
check "restart re-inserts the lost ban" banned 198.18.9.7
# Both readings round down (within a second of each other), and the lost
# entry is re-inserted at its recorded end, the map's rounded up to the whole
# second (up to one more); half a second either way for the readings.
L=$(left 198.18.9.7)
check "with its original expiry ($L vs $L7)" near_left "$L7" "$L" -1.5 2.5
check "offence number kept (2)" test "$(ban_field 198.18.9.7 offence)" = 2
L=$(left "$SHORT")
diag "$(grep restored "$T/daemon.log" | tail -1)"
# Re-armed to the recorded end: the same bounds as the re-inserted ban.
check "a map entry shorter than recorded is re-armed to its recorded end ($SHORT: $L vs $LS)" \
	near_left "$LS" "$L" -1.5 2.5
check "expired ban not resurrected" eval '! banned 198.18.9.70'
check "manually lifted ban not resurrected" eval '! banned 198.18.9.50 && ! banned 198.18.9.60'
check "ban lifted while the daemon was stopped not resurrected" eval '! banned 198.18.9.61'
AFTER=$(list_json | jq -c '[.[] | .addr] | sort')
LIVE_BEFORE=$(jq -c 'map(select(. != "198.18.9.61"))' <<<"$LIVE_BEFORE")
check "no duplicate, nothing lost: $AFTER" test "$AFTER" = "$LIVE_BEFORE"
check "expiry logged" wait_until 5 grep -q "expire 198.18.9.70 rule 5712 offence 1 timeout 2s" "$T/daemon.log"
offend 198.18.9.7
check "history survived the restart: offence 3, 3600 s" \
	wait_until 5 eval '[ "$(ban_field 198.18.9.7 offence)" = 3 ] && [ "$(ban_field 198.18.9.7 expires_in)" -ge 3595 ]'
S=$(status)
check "status answers on the socket" test "$(jq -r .ok <<<"$S")" = true
check "status counts the bans ($(jq -c '{bans, rebans, active_bans}' <<<"$S"))" test "$(jq -r .rebans <<<"$S")" -ge 1
# xdpban status with the daemon running: interface, source, pid, drops of the last minute
ip netns exec "$A" ping -n -q -c 3 -i 0.2 -W 1 -I 198.18.9.7 198.18.9.1 >/dev/null 2>&1
ST=$(ip netns exec "$D" "$XDPBAN" status --socket "$SOCK"); RC=$?
diag "status:"; diag "${ST//$'\n'/$'\n'# }"
check "status exits 0 with an interface attached ($RC)" test "$RC" = 0
check "status shows the interface and its mode" grep -Eq "^  xbd0 .* generic mode" <<<"$ST"
check "status shows the daemon's pid and config" grep -q "^daemon: running, pid $DPID, up .*, config $T/xdpban.conf" <<<"$ST"
check "status shows the source and its lag" grep -Eq "^  $LOG +[0-9]+ lines, newest line [0-9a-z]+ old" <<<"$ST"
check "status shows bans by origin" grep -Eq "^bans by origin: [0-9]+ manual, [1-9][0-9]* daemon" <<<"$ST"
check "status shows drops in the last minute" grep -Eq "^drops in the last minute: [3-9][0-9]* \(over [0-9]+ s\)" <<<"$ST"
SJ=$(ip netns exec "$D" "$XDPBAN" status --json --socket "$SOCK")
check "status --json: daemon, source, interface, drops ($(jq -c '{drops_last_minute, daemon: .daemon.pid}' <<<"$SJ"))" \
	jq -e --arg log "$LOG" --argjson pid "$DPID" '.daemon.running and .daemon.pid == $pid and
	.daemon.sources[0].name == $log and (.daemon.sources[0].lag | type) == "number" and
	.interfaces[0].name == "xbd0" and .interfaces[0].mode == "generic" and
	.drops_last_minute >= 3 and .bans.daemon >= 1 and .bans.total == .bans.ipv4.exact +
	.bans.ipv4.prefix + .bans.ipv6.exact + .bans.ipv6.prefix' <<<"$SJ"
# the CLI's unban tells the daemon, which forgets the ban (no resurrection)
XDPBAN_SOCKET=$SOCK "$XDPBAN" unban 2001:db8:5:2::a >/dev/null
check "unban tells the running daemon" wait_until 5 grep -q "unban 2001:db8:5:2::a .*lifted with xdpban unban" "$T/daemon.log"
kill "$DPID"; wait "$DPID" 2>/dev/null
check "SIGTERM stops cleanly" grep -q "stopped:" "$T/daemon.log"

# 7) dry-run decides and logs but bans nothing
offend 198.18.9.90
start_daemon --dry-run; wait_ready 3
offend 198.18.9.91
check "dry-run logs the decision" wait_until 5 grep -q "dry-run: would ban 198.18.9.91" "$T/daemon.log"
check "dry-run bans nothing" eval '! banned 198.18.9.91'
kill "$DPID"; wait "$DPID" 2>/dev/null

# 8) <source type="stdin">: bare sshd messages (sshd -e 2>&1 | xdpban run) are decoded
sed -e "s|<source type=\"file\">$LOG</source>|<source type=\"stdin\"/>|" \
    -e "s|<control_socket>$SOCK</control_socket>|<control_socket>$T/stdin.sock</control_socket>|" \
    "$T/xdpban.conf" >"$T/stdin.conf"
mkfifo "$T/in"
ip netns exec "$D" "$XDPBAN" run --config "$T/stdin.conf" --foreground <"$T/in" >>"$T/daemon.log" 2>&1 &
DPID=$!
bg_track "$DPID"
exec 7>"$T/in"
wait_ready 4
echo "Invalid user bare1 from 198.18.9.81 port 40001" >&7
echo "Invalid user bare2 from 198.18.9.81 port 40002" >&7
check "stdin: headerless lines lead to a ban" wait_until 5 banned 198.18.9.81
check "stdin: the source is counted in status" eval 'echo status | timeout 5 socat - UNIX-CONNECT:$T/stdin.sock |
	jq -e ".sources[0].name == \"stdin\" and .sources[0].lines == 2" >/dev/null'
exec 7>&-
kill "$DPID"; wait "$DPID" 2>/dev/null
[ "$_FAILS" -gt 0 ] && sed 's/^/# /' "$T/daemon.log"
exit 0
