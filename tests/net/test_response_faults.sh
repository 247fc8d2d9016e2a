#!/bin/bash
# Responses that fail never hold up the XDP ban: a script that hangs (and
# leaves a child behind) is killed with its process group at the time
# limit and counted as hung; a webhook whose endpoint is down is tried, then
# given up with a log line and counted; meanwhile the ban is in the map at
# once and the control socket answers.
. "$(dirname "$0")/lib.sh"
need_root

T=$(mktemp -d /tmp/xdpban-respfault-XXXXXX)
on_exit "rm -rf '$T'"
pin_dir_new respfault
ns_add d
D=$(ns_name d)

LOG=$T/auth.log SOCK=$T/ctl.sock STATE=$T/state
: >"$LOG"
mkdir -p "$T/ar"
# Like tests/data/ar/hang.sh, but it says which pids it left running.
cat >"$T/ar/stuck.sh" <<EOF
#!/bin/bash
read -r msg
sleep 300 &
echo "\$\$ \$!" >"$T/stuck.pids"
sleep 300
EOF
chmod 755 "$T/ar/stuck.sh"

cat >"$T/local_rules.xml" <<'XML'
<group name="local,syslog,sshd,">
  <rule id="5712" level="10" frequency="2" timeframe="120" overwrite="yes">
    <if_matched_sid>5710</if_matched_sid>
    <same_source_ip />
    <description>sshd: brute force with non-existent user names (test).</description>
    <group>authentication_failures,</group>
  </rule>
</group>
XML
# Nothing listens on port 18081 in the namespace: the webhook's endpoint is down.
cat >"$T/xdpban.conf" <<XML
<xdpban>
  <source type="file">$LOG</source>
  <rules_dir>$TOP/rules</rules_dir>
  <local_rules>$T/local_rules.xml</local_rules>
  <state_dir>$STATE</state_dir>
  <control_socket>$SOCK</control_socket>
  <active_response_dir>$T/ar</active_response_dir>
  <command><name>stuck</name><executable>stuck.sh</executable></command>
  <command><name>down</name><executable>wazuh-slack</executable>
    <extra_args>http://127.0.0.1:18081/hook</extra_args></command>
  <active-response><command>stuck</command><location>local</location>
    <rules_id>5712</rules_id></active-response>
  <active-response><command>down</command><location>local</location>
    <rules_id>5712</rules_id></active-response>
  <active-response><command>firewall-drop</command><location>local</location>
    <rules_id>5712</rules_id><timeout>600</timeout></active-response>
</xdpban>
XML

ip netns exec "$D" "$XDPBAN" run --config "$T/xdpban.conf" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
bg_track "$DPID"
status() { echo status | timeout 2 socat - "UNIX-CONNECT:$SOCK"; }
resp() { status | jq -r ".responses.$1"; }
banned() { "$XDPBAN" list --json | jq -e --arg a "$1" 'any(.[]; .addr == $a)' >/dev/null; }
alive() { kill -0 "$1" 2>/dev/null; }
line() { echo "$(date '+%b %e %H:%M:%S') host sshd[$$]: $*" >>"$LOG"; }

check "daemon ready" wait_until 10 grep -qE '[0-9] ready' "$T/daemon.log"
t0=$(now_ms)
line "Invalid user u1 from 198.18.12.7 port 40001"
line "Invalid user u2 from 198.18.12.7 port 40002"
check "the XDP ban is in the map at once" wait_until 3 banned 198.18.12.7
diag "log line to ban: $(($(now_ms) - t0)) ms"
check "the script runs and hangs" wait_until 5 test -s "$T/stuck.pids"
read -r SPID CPID <"$T/stuck.pids" 2>/dev/null
check "status answers while the script hangs" eval '[ "$(resp running)" -ge 1 ] && alive "$SPID"'
check "the dead endpoint is given up after its tries" \
	wait_until 15 grep -q "webhook http://127.0.0.1:18081/hook: not delivered after" "$T/daemon.log"
check "counted as post_failed" wait_until 5 eval '[ "$(resp post_failed)" = 1 ] && [ "$(resp posted)" = 0 ]'
check "the hanging script is killed at its limit" \
	wait_until 15 grep -q "stuck.sh ran past its [0-9]* s limit: killed" "$T/daemon.log"
check "its child is killed with it" wait_until 3 eval '! alive "$SPID" && ! alive "$CPID"'
check "counted as hung in status" wait_until 5 eval '[ "$(resp hung)" = 1 ] && [ "$(resp running)" = 0 ]'
check "the ban stands" banned 198.18.12.7
check "the daemon is still running" alive "$DPID"
kill "$DPID"
check "the daemon stops" wait_until 5 eval '! alive "$DPID"'
[ "$_FAILS" = 0 ] || tail -40 "$T/daemon.log"
