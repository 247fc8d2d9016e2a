#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A key-only OpenSSH server (scripts/lab/sshd_config_keyonly.in, LogLevel
# VERBOSE) followed by `xdpban run` with the shipped rules and the default
# bindings:
#  - an admin whose client offers three keys, the last one authorised, logs
#    in 20 times in a row: each login writes two "Failed publickey" lines,
#    none counts (xdpban's sessions by pid), no alert of level 10, no ban;
#  - a bot that only ever tries passwords as root: sshd refuses the method,
#    writes "Connection closed by authenticating user root ... [preauth]",
#    and xdpban's 190011 (10 in 10 minutes) bans it; then its packets drop.
#
#   edge  eth0 198.18.30.1  <->  bot    198.18.30.66
#         eth1 198.18.31.1  <->  admin  198.18.31.10
# Namespaces, addresses and processes are this test's own; every loop is
# bounded; everything is removed on exit.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
need_root
for tool in /usr/sbin/sshd ssh ssh-keygen sshpass jq nc; do
	command -v "$tool" >/dev/null || { echo "not ok - needs $tool: run 'sudo make deps'"; exit 1; }
done
export TZ=UTC
LAB=$(mktemp -d /run/xdpban-keyonly.XXXXXX) || exit 1
chmod 0700 "$LAB"
on_exit 'rm -rf "$LAB"'
ns_add edge && ns_add bot && ns_add admin || { not_ok "namespaces"; exit 1; }
EDGE=$(ns_name edge) BOT=$(ns_name bot) ADM=$(ns_name admin)
veth "$EDGE" eth0 "$BOT" eth0 && veth "$EDGE" eth1 "$ADM" eth0 &&
	addr "$EDGE" eth0 198.18.30.1/24 && addr "$BOT" eth0 198.18.30.66/24 &&
	addr "$EDGE" eth1 198.18.31.1/24 && addr "$ADM" eth0 198.18.31.10/24 || {
	not_ok "network"; exit 1; }
pin_dir_new keyonly || { not_ok "bpffs"; exit 1; }

for k in host key1 key2 key3; do ssh-keygen -q -t ed25519 -N '' -C "ko-$k" -f "$LAB/$k"; done
mv "$LAB/host" "$LAB/ssh_host_ed25519_key" && mv "$LAB/host.pub" "$LAB/ssh_host_ed25519_key.pub"
cp "$LAB/key3.pub" "$LAB/authorized_keys"
sed "s|@LAB@|$LAB|g" "$TOP/scripts/lab/sshd_config_keyonly.in" >"$LAB/sshd_config"
mkdir -p "$LAB/state" /run/sshd && chmod 0755 /run/sshd
: >"$LAB/sshd.log"
cat >"$LAB/xdpban.conf" <<CONF
<xdpban>
  <interface mode="auto">eth0</interface>
  <source type="file">$LAB/sshd.log</source>
  <rules_dir>$TOP/rules</rules_dir>
  <state_dir>$LAB/state</state_dir>
  <control_socket>$LAB/xdpban.sock</control_socket>
  <active-response>
    <command>firewall-drop</command>
    <location>local</location>
    <rules_id>5712,5720,5763,5551,190011,190012,190013,190014,190015</rules_id>
    <timeout>120</timeout>
  </active-response>
</xdpban>
CONF

# sshd logs through syslog(3), so that each line carries the pid of its
# connection (sshd -e drops it). It runs in a mount namespace of its own
# whose /dev is a tmpfs holding the few devices it needs and, as /dev/log,
# a datagram socket of ours: nothing of the host's /dev or syslog is touched.
cat >"$LAB/recv.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], 'a', buffering=1) as f:
    while True:
        d = s.recv(8192).decode('utf-8', 'replace').rstrip('\n')
        f.write(d.replace('\n', ' ') + '\n')
PY
cat >"$LAB/sshd-wrap.sh" <<WRAP
set -e
mkdir -p "$LAB/olddev"
mount --rbind /dev "$LAB/olddev"
mount -t tmpfs -o mode=0755 none /dev
for d in null zero random urandom tty ptmx; do
	touch /dev/\$d && mount --bind "$LAB/olddev/\$d" /dev/\$d
done
mkdir /dev/pts && mount --bind "$LAB/olddev/pts" /dev/pts
touch /dev/log && mount --bind "$LAB/dev-log" /dev/log
umount -l "$LAB/olddev"
exec /usr/sbin/sshd -D -f "$LAB/sshd_config"
WRAP
timeout 900 python3 "$LAB/recv.py" "$LAB/dev-log" "$LAB/sshd.log" &
bg_track $!
check "syslog socket" wait_until 5 test -S "$LAB/dev-log"
check "key-only sshd config" ip netns exec "$EDGE" /usr/sbin/sshd -t -f "$LAB/sshd_config"
ip netns exec "$EDGE" unshare -m --propagation private bash "$LAB/sshd-wrap.sh" </dev/null \
	>"$LAB/sshd.out" 2>&1 &
bg_track $!
check "sshd listens" wait_until 5 tcp_ok "$ADM" 198.18.31.1 22 1
ip netns exec "$EDGE" "$XDPBAN" run --config "$LAB/xdpban.conf" --foreground \
	</dev/null >"$LAB/xdpban.log" 2>&1 &
bg_track $!
check "xdpban run is attached and ready" wait_until 15 grep -q -w ready "$LAB/xdpban.log"

echo "198.18.31.1 $(cut -d' ' -f1,2 "$LAB/ssh_host_ed25519_key.pub")" >"$LAB/known_hosts"
admin_login() {
	ip netns exec "$ADM" timeout 8 ssh -F /dev/null -o IdentitiesOnly=yes \
		-i "$LAB/key1" -i "$LAB/key2" -i "$LAB/key3" -o BatchMode=yes \
		-o UserKnownHostsFile="$LAB/known_hosts" -o StrictHostKeyChecking=yes \
		-o ConnectTimeout=3 -o LogLevel=ERROR root@198.18.31.1 'echo ko-ok' </dev/null 2>/dev/null |
		grep -qx ko-ok
}
logins=0
for ((i = 0; i < 20; i++)); do admin_login && logins=$((logins + 1)); done
check "the admin logged in 20 times with the third key" test "$logins" = 20
wait_until 3 test "$(grep -c 'Accepted publickey for root from 198.18.31.10' "$LAB/sshd.log")" -ge 20
fails=$(grep -c 'Failed publickey for root from 198.18.31.10' "$LAB/sshd.log")
check "sshd wrote a Failed publickey for each key offered before the right one ($fails)" test "$fails" -ge 40
conns=$(grep -c 'sshd\[[0-9]*\]: Connection from 198.18.31.10 ' "$LAB/sshd.log")
pids=$(sed -n 's/.*sshd\[\([0-9]*\)\]: Connection from 198.18.31.10 .*/\1/p' "$LAB/sshd.log" | sort -u | wc -l)
check "sshd's lines carry each connection's own pid ($pids pids, $conns connections)" \
	test "$conns" -ge 20 -a "$pids" = "$conns"
sleep 1
check_fails "the admin is not banned" bash -c "XDPBAN_PIN_DIR=$XDPBAN_PIN_DIR '$XDPBAN' list --json | grep -q 198.18.31.10"
"$XDPBAN" logtest --json --rules "$TOP/rules" "$LAB/sshd.log" >"$LAB/admin.json" 2>/dev/null
check "no alert of level 10 for the admin (5720 never fires)" \
	bash -c "! jq -e 'select(.level >= 10)' '$LAB/admin.json' | grep -q ."

bot_try() {
	ip netns exec "$BOT" timeout 4 sshpass -p "guess-$1" ssh -F /dev/null \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PreferredAuthentications=password -o PubkeyAuthentication=no \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=2 -o LogLevel=ERROR \
		root@198.18.30.1 true </dev/null >/dev/null 2>&1
}
banned() { XDPBAN_PIN_DIR=$XDPBAN_PIN_DIR "$XDPBAN" list --json | jq -e '.[] | select(.addr == "198.18.30.66")' >/dev/null; }
for ((i = 1; i <= 30; i++)); do
	banned && break
	bot_try "$i"
done
check "the password bot is banned ($i attempts, 190011)" wait_until 5 banned
check "by rule 190011" bash -c "XDPBAN_PIN_DIR=$XDPBAN_PIN_DIR '$XDPBAN' list --json | jq -e '.[] | select(.addr == \"198.18.30.66\") | .rule == 190011' | grep -qx true"
check_fails "its connections are dropped" tcp_ok "$BOT" 198.18.30.1 22 1
check "sshd never wrote Failed password" bash -c "! grep -q 'Failed password' '$LAB/sshd.log'"
check "the admin still logs in" admin_login
[ "$_FAILS" -gt 0 ] && { diag "sshd.log:"; tail -40 "$LAB/sshd.log" | sed 's/^/# /'; tail -20 "$LAB/xdpban.log" | sed 's/^/# /'; }
exit "$_FAILS"
