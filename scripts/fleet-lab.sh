# shellcheck shell=bash
# The fleet's lab, shared by tests/e2e/test_fleet.sh and `make demo`
# (scripts/lab.sh): a hub namespace with nats-server (JetStream, TLS, one
# certificate per host mapped to a user with its own permissions) and the
# manager, and edge1..edge3, each a real OpenSSH server followed by
# `xdpban run` as an agent. One attacker namespace reaches every edge and the
# hub from the same addresses (198.18.70.0/24, 2001:db8:70::/64), so a ban
# means the same address everywhere.
#
#   hub    br0 198.18.60.1 (nats :4222)   att0 198.18.64.1   <-> att
#   edgeN  eth0 198.18.60.1N (to br0)     eth1 198.18.6N.1   <-> att
#
# Source tests/net/lib.sh first (namespaces, pids and pins it cleans up).
# Set FLEET (a directory of ours, for configs, keys, logs), FL_RULES (the
# local rules file) and FL_RESPONSES (the <active-response> blocks); optional
# FL_AUTH_KEYS (authorized_keys for every edge's sshd).

FL_HOSTS="hub edge1 edge2 edge3"
FL_BROKER=198.18.60.1
declare -A FL_NS FL_PIN FL_XPID

fl_net_up() {
	local n i
	for n in att $FL_HOSTS; do
		ns_add "$n" || return 1
		FL_NS[$n]=$(ns_name "$n")
	done
	ip -n "${FL_NS[hub]}" link add br0 type bridge && ip -n "${FL_NS[hub]}" link set br0 up &&
		addr "${FL_NS[hub]}" br0 $FL_BROKER/24 || return 1
	veth "${FL_NS[hub]}" att0 "${FL_NS[att]}" hub0 && addr "${FL_NS[hub]}" att0 198.18.64.1/24 &&
		addr "${FL_NS[hub]}" att0 2001:db8:64::1/64 && addr "${FL_NS[att]}" hub0 198.18.64.2/24 &&
		addr "${FL_NS[att]}" hub0 2001:db8:64::2/64 || return 1
	ip -n "${FL_NS[hub]}" route add 198.18.70.0/24 via 198.18.64.2 &&
		ip -n "${FL_NS[hub]}" -6 route add 2001:db8:70::/64 via 2001:db8:64::2 || return 1
	for i in 1 2 3; do
		n=edge$i
		veth "${FL_NS[$n]}" eth0 "${FL_NS[hub]}" e$i && ip -n "${FL_NS[hub]}" link set e$i master br0 &&
			addr "${FL_NS[$n]}" eth0 198.18.60.1$i/24 || return 1
		veth "${FL_NS[$n]}" eth1 "${FL_NS[att]}" e$i && addr "${FL_NS[$n]}" eth1 198.18.6$i.1/24 &&
			addr "${FL_NS[$n]}" eth1 2001:db8:6$i::1/64 && addr "${FL_NS[att]}" e$i 198.18.6$i.2/24 &&
			addr "${FL_NS[att]}" e$i 2001:db8:6$i::2/64 || return 1
		ip -n "${FL_NS[$n]}" route add 198.18.70.0/24 via 198.18.6$i.2 &&
			ip -n "${FL_NS[$n]}" -6 route add 2001:db8:70::/64 via 2001:db8:6$i::2 || return 1
	done
	# The attackers' (and a client's) addresses, on the attacker's loopback;
	# it forwards nothing, each edge is reached over its own link.
	for i in 10 11 12 13 14 15 16 17 18 19 20; do
		addr "${FL_NS[att]}" lo 198.18.70.$i/32 && addr "${FL_NS[att]}" lo 2001:db8:70::$i/128 || return 1
	done
}

# Certificates: one CA, the broker, one per host, none shared.
fl_certs() {
	local c=$FLEET/pki id
	mkdir -p "$c" && cd "$c" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=xdpban fleet test CA" -keyout ca.key -out ca.pem 2>/dev/null || return 1
	_fl_mkcert() {      # NAME EXTENSIONS
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
			-keyout "$1.key" -out "$1.csr" 2>/dev/null &&
		printf '%b\n' "$2" >"$1.ext" &&
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
			-extfile "$1.ext" -out "$1.pem" 2>/dev/null
	}
	_fl_mkcert broker "subjectAltName=IP:$FL_BROKER\nextendedKeyUsage=serverAuth" || return 1
	# The identity is the DNS name in the certificate: nats-server's
	# verify_and_map makes it the user.
	for id in manager edge1 edge2 edge3; do
		_fl_mkcert "$id" "subjectAltName=DNS:$id\nextendedKeyUsage=clientAuth" || return 1
	done
	chmod 0600 ./*.key
	cd - >/dev/null || return 1
}

# An agent may publish its own reports and create consumers on its own and
# the fleet-wide decisions; it receives on its own inbox prefix. Nothing else.
fl_agent_perms() {
	cat <<P
    { user: "$1", permissions: {
        publish: { allow: ["xdpban.report.$1",
          "\$JS.API.CONSUMER.CREATE.KV_xdpban-decisions.*.\$KV.xdpban-decisions.$1.>",
          "\$JS.API.CONSUMER.CREATE.KV_xdpban-decisions.*.\$KV.xdpban-decisions.all.>"] }
        subscribe: { allow: ["_INBOX_$1.>"] } } }
P
}

fl_nats_conf() {
	cat >"$FLEET/nats.conf" <<C
listen: $FL_BROKER:4222
http: 127.0.0.1:8222
jetstream { store_dir: "$FLEET/js", max_memory_store: 64MB, max_file_store: 256MB }
tls {
  cert_file: "$FLEET/pki/broker.pem", key_file: "$FLEET/pki/broker.key", ca_file: "$FLEET/pki/ca.pem"
  verify_and_map: true, timeout: 3
}
authorization {
  users = [
    { user: "manager", permissions: { publish: ">", subscribe: ">" } }
$(fl_agent_perms edge1)
$(fl_agent_perms edge2)
$(fl_agent_perms edge3)
  ]
}
C
}

fl_nats_up() {
	ip netns exec "${FL_NS[hub]}" nats-server -c "$FLEET/nats.conf" >>"$FLEET/nats.log" 2>&1 </dev/null &
	FL_NATS_PID=$!
	bg_track $FL_NATS_PID
	wait_until 10 grep -q 'Server is ready' "$FLEET/nats.log"
}
fl_nats_down() { kill "$FL_NATS_PID" 2>/dev/null; wait "$FL_NATS_PID" 2>/dev/null; }

# fl_host_conf NAME ROLE IFACE [ID]: the host's config (and state directory).
fl_host_conf() {
	local d=$FLEET/$1
	mkdir -p "$d/state"
	: >"$d/sshd.log"
	cat >"$d/xdpban.conf" <<C
<xdpban>
  <interface>$3</interface>
  <source type="file">$d/sshd.log</source>
  <rules_dir>$TOP/rules</rules_dir>
  <local_rules>$FL_RULES</local_rules>
  <state_dir>$d/state</state_dir>
  <control_socket>$d/xdpban.sock</control_socket>
  <fleet>
    <agent_id>${4:-$1}</agent_id>
    <role>$2</role>
    <url>tls://$FL_BROKER:4222</url>
    <ca>$FLEET/pki/ca.pem</ca>
    <cert>$FLEET/pki/${4:-$1}.pem</cert>
    <key>$FLEET/pki/${4:-$1}.key</key>
    <grace>5s</grace>
    <report_pack>8</report_pack>
  </fleet>
$FL_RESPONSES
</xdpban>
C
}

# fl_hosts_conf: the manager on the hub, an agent on every edge, one bpffs
# each (XDPBAN_PIN_DIR is left as it was).
fl_hosts_conf() {
	local h keep=${XDPBAN_PIN_DIR:-}
	fl_host_conf hub manager att0 manager
	for h in edge1 edge2 edge3; do fl_host_conf "$h" agent eth1; done
	for h in $FL_HOSTS; do
		pin_dir_new "fleet-$h" || return 1
		FL_PIN[$h]=$XDPBAN_PIN_DIR
	done
	if [ -n "$keep" ]; then export XDPBAN_PIN_DIR=$keep; else unset XDPBAN_PIN_DIR; fi
}

# sshd -e writes to stderr; each line gets a syslog header with its pid.
# The pid is read once it is there: no fork between the line's stamp and its
# write (the demo times the log line to the ban).
fl_sshd_logger() {
	local line now pid=
	while IFS= read -r line; do
		[ -z "$pid" ] && { read -r pid <"$FLEET/$1/sshd.pid"; } 2>/dev/null
		now=$EPOCHREALTIME
		printf '%(%Y-%m-%dT%H:%M:%S)T.%s+00:00 %s sshd[%s]: %s\n' "${now%.*}" "${now#*.}" \
			"$1" "${pid:-0}" "${line%$'\r'}" >>"$FLEET/$1/sshd.log"
	done
}

fl_sshd_up() {     # EDGE
	local d=$FLEET/$1
	ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$d/ssh_host_ed25519_key" || return 1
	if [ -n "${FL_AUTH_KEYS:-}" ]; then cp "$FL_AUTH_KEYS" "$d/authorized_keys"; else : >"$d/authorized_keys"; fi
	sed "s|@LAB@|$d|g" "$TOP/scripts/lab/sshd_config.in" >"$d/sshd_config" || return 1
	mkdir -p /run/sshd && chmod 0755 /run/sshd
	ip netns exec "${FL_NS[$1]}" /usr/sbin/sshd -t -f "$d/sshd_config" || return 1
	ip netns exec "${FL_NS[$1]}" /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>&1 </dev/null |
		fl_sshd_logger "$1" &
	bg_track $!
	wait_until 5 tcp_ok "${FL_NS[att]}" "$(fl_edge_ip "$1")" 22 1
}

fl_edge_ip() { echo "198.18.6${1#edge}.1"; }
fl_edge_ip6() { echo "2001:db8:6${1#edge}::1"; }

# fl_xb_start HOST, then fl_xb_wait HOST: xdpban run, connected to the broker
# (a new "connected" line since the start). fl_xb_up HOST: both.
fl_xb_start() {
	local d=$FLEET/$1
	_FL_CONNECTED[$1]=$(grep -c 'connected to the broker' "$d/xdpban.log" 2>/dev/null)
	XDPBAN_PIN_DIR=${FL_PIN[$1]} ip netns exec "${FL_NS[$1]}" "$XDPBAN" run --config "$d/xdpban.conf" \
		--foreground </dev/null >>"$d/xdpban.log" 2>&1 &
	FL_XPID[$1]=$!
	bg_track "${FL_XPID[$1]}"
}
declare -A _FL_CONNECTED
fl_xb_wait() {
	local d=$FLEET/$1
	wait_until 15 bash -c "[ \$(grep -c 'connected to the broker' '$d/xdpban.log') -gt ${_FL_CONNECTED[$1]:-0} ]"
}
fl_xb_up() { fl_xb_start "$1" && fl_xb_wait "$1"; }
fl_xb_down() { kill "${FL_XPID[$1]}" 2>/dev/null; wait "${FL_XPID[$1]}" 2>/dev/null; }
fl_xb_kill() { kill -9 "${FL_XPID[$1]}" 2>/dev/null; wait "${FL_XPID[$1]}" 2>/dev/null; }
fl_xb() { local h=$1; shift; XDPBAN_PIN_DIR=${FL_PIN[$h]} "$XDPBAN" "$@"; }
fl_st() { fl_xb "$1" status --json --socket "$FLEET/$1/xdpban.sock" 2>/dev/null; }

# fl_ban_of HOST ADDR: "END OFFENCE PACKETS" of its ban in HOST's maps, nothing if none.
fl_ban_of() {
	fl_xb "$1" list --json 2>/dev/null |
		jq -r --arg a "$2" '.[] | select(.addr == $a) | "\(.expires_at // 0) \(.offence) \(.packets // 0)"'
}
fl_banned_at() { [ -n "$(fl_ban_of "$1" "$2")" ]; }

# fl_attack EDGE SRC PREFIX N: N ssh logins as invalid users PREFIX1..N from
# SRC, one password each; stops when the edge drops SRC or has reported it.
fl_attack() {
	local e=$1 src=$2 pfx=$3 n=$4 i dst
	case $src in *:*) dst=$(fl_edge_ip6 "$e") ;; *) dst=$(fl_edge_ip "$e") ;; esac
	for ((i = 1; i <= n; i++)); do
		ip netns exec "${FL_NS[att]}" timeout 4 sshpass -p "guess-$i" ssh -F /dev/null -b "$src" \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o PreferredAuthentications=password -o PubkeyAuthentication=no \
			-o NumberOfPasswordPrompts=1 -o ConnectTimeout=2 -o LogLevel=ERROR \
			-l "$pfx$RANDOM$i" "$dst" true </dev/null >/dev/null 2>&1
		fl_banned_at "$e" "$src" && break
		# Once this edge has reported it, the rest is the fleet's.
		grep -q "report $src rule" "$FLEET/$e/xdpban.log" && break
	done
}
