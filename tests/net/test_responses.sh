#!/bin/bash
# Every response besides the XDP ban, end to end: sshd lines in a followed
# file -> rule -> <active-response> binding -> the effect -> its removal on
# expiry. route-null (replies to the attacker go nowhere), host-deny (a
# private hosts.deny), disable-account (in a private mount namespace whose
# /etc is a tmpfs with copies of the account files: the machine's accounts
# are never touched), wazuh-slack (a real HTTP server in the namespace) and
# an external script run as Wazuh's execd runs it; then a delete that falls
# due while the daemon is stopped runs when it starts again.
. "$(dirname "$0")/lib.sh"
need_root

T=$(mktemp -d /tmp/xdpban-resp-XXXXXX)
on_exit "rm -rf '$T'"
pin_dir_new resp
ns_add d
ns_add a
D=$(ns_name d)
A=$(ns_name a)
veth "$D" xrd0 "$A" xra0
addr "$D" xrd0 198.18.10.1/24
for i in 7 8 9 17; do addr "$A" xra0 198.18.10.$i/24; done

LOG=$T/auth.log SOCK=$T/ctl.sock STATE=$T/state
: >"$LOG"
mkdir -p "$T/ar" "$T/etc"
cp "$TOP/tests/data/ar/record.sh" "$TOP/tests/data/ar/fail.sh" "$T/ar/"
ln -s "$XDPBAN" "$T/ar/self"       # xdpban must never run itself as a script
printf '# local policy\nsshd: 198.18.11.5\n' >"$T/hosts.deny"
# The account files of the private /etc: root, a system account, a
# protected one and bob, who may be locked.
cat >"$T/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
svc:x:150:150::/srv:/bin/sh
alice:x:1501:1501::/home/alice:/bin/bash
bob:x:1500:1500::/home/bob:/bin/bash
P
cat >"$T/etc/shadow" <<'S'
root:$6$root$hash:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
svc:$6$svc$hash:19000:0:99999:7:::
alice:$6$alice$hash:19000:0:99999:7:::
bob:$6$bob$hash:19000:0:99999:7:::
S
chmod 640 "$T/etc/shadow"
printf 'UID_MIN 1000\nUID_MAX 60000\n' >"$T/etc/login.defs"
cp -P /etc/localtime "$T/etc/" 2>/dev/null

cat >"$T/local_rules.xml" <<'XML'
<group name="local,syslog,sshd,">
  <rule id="5712" level="10" frequency="2" timeframe="120" overwrite="yes">
    <if_matched_sid>5710</if_matched_sid>
    <same_source_ip />
    <description>sshd: brute force with non-existent user names (test).</description>
    <group>authentication_failures,</group>
  </rule>
  <rule id="5763" level="10" frequency="2" timeframe="120" overwrite="yes">
    <if_matched_sid>5760</if_matched_sid>
    <same_source_ip />
    <description>sshd: brute force trying to get access to the system (test).</description>
    <group>authentication_failures,</group>
  </rule>
</group>
XML
cat >"$T/xdpban.conf" <<XML
<xdpban>
  <source type="file">$LOG</source>
  <rules_dir>$TOP/rules</rules_dir>
  <local_rules>$T/local_rules.xml</local_rules>
  <state_dir>$STATE</state_dir>
  <control_socket>$SOCK</control_socket>
  <active_response_dir>$T/ar</active_response_dir>
  <hosts_deny>$T/hosts.deny</hosts_deny>
  <protected_accounts>alice</protected_accounts>
  <command><name>record</name><executable>record.sh</executable>
    <timeout_allowed>yes</timeout_allowed><extra_args>-x one</extra_args></command>
  <command><name>broken</name><executable>fail.sh</executable><timeout_allowed>yes</timeout_allowed></command>
  <command><name>myself</name><executable>self</executable><timeout_allowed>yes</timeout_allowed></command>
  <command><name>slack</name><executable>wazuh-slack</executable>
    <extra_args>http://127.0.0.1:18080/hook</extra_args></command>
  <active-response><command>firewall-drop</command><location>local</location>
    <rules_id>5712</rules_id><timeout>4</timeout></active-response>
  <active-response><command>route-null</command><location>local</location>
    <rules_id>5712</rules_id><timeout>4</timeout></active-response>
  <active-response><command>host-deny</command><location>local</location>
    <rules_id>5712</rules_id><timeout>4</timeout></active-response>
  <active-response><command>record</command><location>local</location>
    <rules_id>5712</rules_id><timeout>4</timeout></active-response>
  <active-response><command>broken</command><location>local</location>
    <rules_id>5712</rules_id><timeout>4</timeout></active-response>
  <active-response><command>myself</command><location>local</location>
    <rules_id>5712</rules_id><timeout>4</timeout></active-response>
  <active-response><command>slack</command><location>local</location>
    <rules_id>5712</rules_id></active-response>
  <active-response><command>disable-account</command><location>local</location>
    <rules_id>5763</rules_id><timeout>4</timeout></active-response>
</xdpban>
XML

# The webhook's receiver, on the namespace's loopback; its first answer is
# a 500, so the POST is retried.
ip netns exec "$D" python3 "$TOP/tests/data/ar/hook.py" "$T/hook.log" 18080 1 &
bg_track $!
wait_until 5 ip netns exec "$D" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 18080), 1)'

DPID=
start_daemon() {
	ip netns exec "$D" unshare -m --propagation private bash -c '
		mount -t tmpfs -o mode=755 xdpban-etc /etc && cp -a "$1"/. /etc/ &&
		exec "$2" run --config "$3" --foreground' _ "$T/etc" "$XDPBAN" "$T/xdpban.conf" \
		>>"$T/daemon.log" 2>&1 &
	DPID=$!
	bg_track "$DPID"
}
ready_count() { grep -c -E '[0-9] ready' "$T/daemon.log"; }
wait_ready() { wait_until 10 eval '[ "$(ready_count)" -ge '"$1"' ]'; }
stop_daemon() {
	kill "$DPID"
	for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$DPID"
}
line() { echo "$(date '+%b %e %H:%M:%S') host sshd[$$]: $*" >>"$LOG"; }
invalid() { line "Invalid user u1 from $1 port 40001"; line "Invalid user u2 from $1 port 40002"; }
failed() { line "Failed password for $1 from $2 port 40003 ssh2"; line "Failed password for $1 from $2 port 40004 ssh2"; }
status() { echo status | timeout 5 socat - "UNIX-CONNECT:$SOCK"; }
resp() { status | jq -r ".responses.$1"; }
blackholed() { ip -n "$D" route show type blackhole | grep -q "^blackhole $1 "; }
denied() { grep -qx "ALL: $1" "$T/hosts.deny"; }
shadow_hash() { ip netns exec "$D" true; nsenter -t "$DPID_REAL" -m cat /etc/shadow | sed -n "s/^$1:\([^:]*\):.*/\1/p"; }

start_daemon
check "daemon ready" wait_ready 1
DPID_REAL=$(pgrep -P "$(pgrep -P "$DPID" | head -1)" 2>/dev/null | head -1)
[ -n "$DPID_REAL" ] || DPID_REAL=$(pgrep -f "run --config $T/xdpban.conf" | head -1)
check "the daemon runs with the private /etc" eval 'shadow_hash bob | grep -q "^\$6\$bob"'
check "the attacker's pings are answered before any response" ping_ok "$A" 198.18.10.7

invalid 198.18.10.7
check "route-null: a blackhole route to 198.18.10.7" wait_until 5 blackholed 198.18.10.7
check "route-null: the host's replies to the attacker go nowhere" \
	eval '! ip netns exec "$A" ping -n -q -c 1 -W 1 -I 198.18.10.7 198.18.10.1 >/dev/null 2>&1'
check "route-null: another address is still answered" \
	eval 'ip netns exec "$A" ping -n -q -c 1 -W 1 -I 198.18.10.9 198.18.10.1 >/dev/null 2>&1'
check "host-deny: ALL: 198.18.10.7 added" wait_until 5 denied 198.18.10.7
check "host-deny: the other lines are untouched" grep -qx "sshd: 198.18.11.5" "$T/hosts.deny"
check "script: run with execd's message, check_keys answered continue" \
	wait_until 5 grep -q "^add 198.18.10.7 continue" "$T/ar/record.log"
check "script: extra_args split as execd does" grep -q 'args=\["-x","one"\] rule=5712' "$T/ar/record.log"
check "script: program as execd names it" grep -q 'program=active-response/bin/record.sh' "$T/ar/record.log"
check "script: a clean environment" grep -q 'env=0$' "$T/ar/record.log"
check "script: its stderr is logged" wait_until 5 grep -q "stderr: record: add 198.18.10.7" "$T/daemon.log"
check "a failing script is logged with its exit status" \
	wait_until 5 grep -q "fail.sh add exited 3" "$T/daemon.log"
check "a failing script's stderr is logged" grep -q "stderr: fail: cannot do it" "$T/daemon.log"
check "xdpban refuses to run itself as a script" grep -q "cannot run 'self'.*it is xdpban itself" "$T/daemon.log"
check "the failing scripts are counted in status" wait_until 5 eval '[ "$(resp failed)" -ge 2 ]'
check "webhook: a Slack-style message posted (after a retry)" wait_until 10 test -s "$T/hook.log"
check "webhook: it names the rule, the address and the ban" \
	eval 'head -1 "$T/hook.log" | jq -e ".text | test(\"rule 5712\") and test(\"198.18.10.7\") and test(\"banned\")" >/dev/null'
check "webhook: counted as posted" wait_until 5 eval '[ "$(resp posted)" = 1 ]'

# A second offence while in force: execd's abort, the end re-armed.
invalid 198.18.10.7
check "script: a key in force gets abort" wait_until 5 grep -q "^add 198.18.10.7 abort" "$T/ar/record.log"
check "route-null: re-armed, not added twice" wait_until 5 grep -q "route-null-198.18.10.7: already in force, re-armed: lifted 20" "$T/daemon.log"

failed root 198.18.10.8
failed svc 198.18.10.8
failed alice 198.18.10.8
check "disable-account: never root" wait_until 5 grep -q "disable-account: root is root: not locked" "$T/daemon.log"
check "disable-account: never a system account" wait_until 5 grep -q "disable-account: svc is a system account" "$T/daemon.log"
check "disable-account: never a protected account" wait_until 5 grep -q "disable-account: alice is a protected account" "$T/daemon.log"
failed bob 198.18.10.9
check "disable-account: bob locked in the private shadow" wait_until 5 eval 'shadow_hash bob | grep -q "^!\$6\$bob"'
check "disable-account: the others untouched" eval 'shadow_hash root | grep -q "^\$6\$root" && shadow_hash alice | grep -q "^\$6\$alice"'
check "disable-account: the machine's own shadow has no bob" eval '! grep -q "^bob:" /etc/shadow'

check "route-null: lifted on expiry" wait_until 12 eval '! blackholed 198.18.10.7'
check "route-null: the attacker is answered again" wait_until 5 ping_ok "$A" 198.18.10.7
check "host-deny: the line removed on expiry" wait_until 5 eval '! denied 198.18.10.7'
check "host-deny: the other lines are still there" grep -qx "sshd: 198.18.11.5" "$T/hosts.deny"
check "script: a new process gets delete on expiry" wait_until 5 grep -q "^delete 198.18.10.7$" "$T/ar/record.log"
check "disable-account: bob unlocked on expiry" wait_until 10 eval 'shadow_hash bob | grep -q "^\$6\$bob"'

# IPv6: the same responses for 2001:db8:10::7.
invalid 2001:db8:10::7
check "route-null: an IPv6 blackhole route" wait_until 5 eval 'ip -6 -n "$D" route show type blackhole | grep -q "^blackhole 2001:db8:10::7 "'
check "host-deny: ALL: [2001:db8:10::7]" wait_until 5 grep -qxF "ALL: [2001:db8:10::7]" "$T/hosts.deny"
check "script: IPv6 srcip as execd writes it" wait_until 5 grep -q "^add 2001:db8:10::7 continue" "$T/ar/record.log"

# A delete that falls due while the daemon is stopped runs when it starts.
invalid 198.18.10.17
check "script: 198.18.10.17 added" wait_until 5 grep -q "^add 198.18.10.17 continue" "$T/ar/record.log"
check "route-null: 198.18.10.17 blackholed" wait_until 5 blackholed 198.18.10.17
stop_daemon
check "pending deletes are stored" eval 'sqlite3 "$STATE/xdpban.db" "SELECT key FROM responses" 2>/dev/null | grep -q "record.sh-198.18.10.17" || python3 -c "import sqlite3,sys; sys.exit(0 if any(\"record.sh-198.18.10.17\" == r[0] for r in sqlite3.connect(\"$STATE/xdpban.db\").execute(\"SELECT key FROM responses\")) else 1)"'
sleep 5
check "nothing was lifted while the daemon was down" eval '! grep -q "^delete 198.18.10.17" "$T/ar/record.log"'
start_daemon
check "daemon ready again" wait_ready 2
check "after the restart the due delete runs" wait_until 5 grep -q "^delete 198.18.10.17$" "$T/ar/record.log"
check "after the restart the due route is lifted" wait_until 5 eval '! blackholed 198.18.10.17'
check "after the restart the IPv6 route and line are gone" wait_until 5 eval \
	'! ip -6 -n "$D" route show type blackhole | grep -q 2001:db8:10::7 && ! grep -qF "2001:db8:10::7" "$T/hosts.deny"'
check "no response left in force" wait_until 5 eval '[ "$(resp active)" = 0 ]'
check "schema 2 recorded" python3 -c "import sqlite3,sys; sys.exit(0 if sqlite3.connect('$STATE/xdpban.db').execute(\"SELECT v FROM meta WHERE k='schema'\").fetchone()[0] == '2' else 1)"
stop_daemon
diag "$(grep -c . "$T/daemon.log") daemon log lines"
[ "$_FAILS" = 0 ] || tail -60 "$T/daemon.log"
