#!/bin/bash
# The lab: a real OpenSSH server under brute force, banned by xdpban.
#
#   scripts/lab.sh demo   narrated run with timings and a summary table (make demo)
#   scripts/lab.sh e2e    the same scenario, each step a TAP line (tests/e2e/test_lab.sh)
#   scripts/lab.sh up     build the lab, start sshd and xdpban, wait for Ctrl-C
#
# The network lives in namespaces this script creates (named xbt<pid>-*) and
# removes on exit, also on Ctrl-C or failure. Nothing is routed out of them.
#
#   attacker4  198.18.0.66   ──┐
#   attacker6  2001:db8::66  ──┤ lan: bridge br0 ── eth0  edge  198.18.0.1, 2001:db8::1
#   client     198.18.0.10,  ──┘                         sshd on :22 (log file, no journald)
#              2001:db8::10                              xdpban run, XDP on eth0
#
# Environment: BUILD (build dir), XDPBAN (binary), LAB_TIMEOUT (first ban,
# 12..300 s; default 30), LAB_REPEAT (repeated_offenders, minutes; default 1),
# LAB_KEEP=1 keeps the lab's files (logs, configs; never keys) in
# $BUILD/lab-last (also kept when a step fails), LAB_VERBOSE=1 shows every
# check in the demo.

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

MODE=${1:-demo}
case $MODE in
demo|e2e|up) ;;
-h|--help|help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac

# 30 s: the checks during the first ban must fit in it also on a loaded
# machine (at a load average of 7 they took over 20 s).
LAB_TIMEOUT=${LAB_TIMEOUT:-30}
LAB_REPEAT=${LAB_REPEAT:-1}
LAB_FLEET=${LAB_FLEET:-1}
# The lab's rules stay silent 10 s after firing: the first ban must outlast that.
if ! [[ $LAB_TIMEOUT =~ ^[0-9]+$ && $LAB_REPEAT =~ ^[0-9]+$ ]] ||
   [ "$LAB_TIMEOUT" -lt 12 ] || [ "$LAB_TIMEOUT" -gt 300 ] || [ "$LAB_REPEAT" -lt 1 ]; then
	echo "not ok - LAB_TIMEOUT must be 12..300 seconds and LAB_REPEAT at least 1 minute" >&2
	exit 2
fi

# demo and e2e run the lab in a child process; once it has exited, this one
# checks that it left nothing behind: no namespace, process, mount or file.
if [ "$MODE" != up ] && [ -z "${LAB_CHILD:-}" ]; then
	info=$(mktemp) || exit 1
	# In the foreground: Ctrl-C reaches both (the child cleans up and exits,
	# then this one checks). A background child would ignore SIGINT.
	got_int=0
	trap 'got_int=1' INT TERM
	LAB_CHILD=1 LAB_INFO=$info bash "$0" "$MODE"
	rc=$?
	child=$(cut -d' ' -f3 "$info" 2>/dev/null)
	left=()
	if [ -s "$info" ]; then
		read -r lab pin _ <"$info"
		ip netns list 2>/dev/null | grep -q "^xbt$child-" && left+=("namespaces")
		pgrep -f -- "$lab" >/dev/null && left+=("processes")
		[ -e "$lab" ] && left+=("$lab")
		[ -e "$pin" ] && left+=("$pin")
		grep -q " $pin " /proc/mounts && left+=("bpffs mount")
		# The fleet's own bpffs, one per host.
		grep -q " /run/xdpban-test-$child-" /proc/mounts && left+=("fleet bpffs mounts")
	fi
	rm -f "$info"
	if [ ${#left[@]} = 0 ]; then
		msg="cleanup: nothing left behind (namespaces, processes, bpffs, files)"
		if [ "$MODE" = e2e ]; then echo "ok - cleanup"; echo "# $msg"; else echo "$msg"; fi
	else
		if [ "$MODE" = e2e ]; then echo "not ok - cleanup"; fi
		echo "cleanup: left behind: ${left[*]}" >&2
		rc=1
	fi
	[ "$got_int" = 1 ] && rc=130
	exit "$rc"
fi

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/../tests/net/lib.sh"

ESCALATED=$((LAB_REPEAT * 60))
MAX_ATTEMPTS=30         # per attacker and round
EDGE4=198.18.0.1 EDGE6=2001:db8::1
ATT4=198.18.0.66 ATT6=2001:db8::66
CLI4=198.18.0.10 CLI6=2001:db8::10
export TZ=UTC

# --- time and output ---------------------------------------------------------

# Microseconds since the epoch, without a fork ($EPOCHREALTIME has 6 decimals).
now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
T0=$(now_us)
# fmt_s USEC: "12.3"; fmt_ms USEC: "4.1 ms" (rounded to a tenth; negative too)
fmt_tenths() {   # VALUE UNIT
	local v=$1 sign=
	if [ "$v" -lt 0 ]; then sign=- v=$((-v)); fi
	v=$(( (v + $2 / 20) / ($2 / 10) ))
	printf '%s%d.%d' "$sign" $((v / 10)) $((v % 10))
}
fmt_s()  { fmt_tenths "$1" 1000000; }
fmt_ms() { printf '%s ms' "$(fmt_tenths "$1" 1000)"; }
stamp()  { printf '[%6ss]' "$(fmt_s $((${1:-$(now_us)} - T0)))"; }

# say TEXT: one narration line, timed from the start of the run.
say() {
	if [ "$MODE" = e2e ]; then echo "# $(stamp) $*"; else echo "$(stamp) $*"; fi
}
# quote TEXT: a log line shown under the narration.
quote() {
	if [ "$MODE" = e2e ]; then echo "#            $*"; else echo "           $*"; fi
}
# say_at USEC TEXT: the same for an event that happened at USEC.
say_at() {
	local t=$1; shift
	if [ "$MODE" = e2e ]; then echo "# $(stamp "$t") $*"; else echo "$(stamp "$t") $*"; fi
}
# pass NAME TEXT / fail NAME TEXT: one checked step.
# In the demo, details (text starting with two spaces) show only with
# LAB_VERBOSE=1 or when they fail.
pass() {
	if [ "$MODE" = e2e ]; then ok "$1"; fi
	if [ "$MODE" = e2e ] || [ "${2:0:2}" != "  " ] || [ "${LAB_VERBOSE:-0}" = 1 ]; then say "$2"; fi
}
fail() {
	if [ "$MODE" = e2e ]; then not_ok "$1"; else _FAILS=$((_FAILS + 1)); fi
	say "FAILED: $1: $2"
}
# verify NAME OK-TEXT FAIL-TEXT CMD...
verify() {
	local n=$1 y=$2 f=$3; shift 3
	if "$@"; then pass "$n" "$y"; else fail "$n" "$f"; fi
}
die() {
	fail "$1" "$2"
	[ "$MODE" = e2e ] || echo "the lab stops here; its logs are in $BUILD/lab-last" >&2
	LAB_KEEP=1
	exit 1
}

# --- the lab -----------------------------------------------------------------

need_root
tools="/usr/sbin/sshd ssh ssh-keygen sshpass jq nc ping"
[ "$LAB_FLEET" = 1 ] && tools="$tools nats-server openssl"
for tool in $tools; do
	command -v "$tool" >/dev/null || {
		echo "not ok - lab needs $tool: run 'sudo make deps'"; exit 1; }
done
[ -x "$XDPBAN" ] || { echo "not ok - no $XDPBAN: run 'make BUILD=${BUILD#"$TOP"/}'"; exit 1; }

LAB=$(mktemp -d /run/xdpban-lab.XXXXXX) || exit 1
chmod 0700 "$LAB"   # sshd's StrictModes checks the key files' directory

# Stop everything in the namespaces first, then keep the logs (never keys).
lab_down() {
	local ns d
	trap '' INT TERM    # a second signal must not cut the cleanup short
	for ns in "${_NSES[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null; done
	sleep 0.2
	if [ "${LAB_KEEP:-0}" = 1 ] || [ "$_FAILS" -gt 0 ]; then
		rm -rf "$BUILD/lab-last" && mkdir -p "$BUILD/lab-last" &&
			cp "$LAB"/*.log "$LAB"/*.conf "$LAB"/sshd_config "$LAB"/*.stamped \
				"$BUILD/lab-last/" 2>/dev/null
		for d in "$LAB"/fleet/*/; do
			[ -e "$d/xdpban.log" ] || continue
			d=${d%/} && mkdir -p "$BUILD/lab-last/fleet-${d##*/}" &&
				cp "$d"/*.log "$d"/*.conf "$BUILD/lab-last/fleet-${d##*/}/" 2>/dev/null
		done
		cp "$LAB"/fleet/nats.log "$LAB"/fleet/nats.conf "$BUILD/lab-last/" 2>/dev/null
	fi
	rm -rf "${LAB:?}"
}
on_exit lab_down

NS_LAN=$(ns_name lan) NS_EDGE=$(ns_name edge) NS_A4=$(ns_name attacker4)
NS_A6=$(ns_name attacker6) NS_CLI=$(ns_name client)

no_default_routes() {
	local ns
	for ns in "${_NSES[@]}"; do
		[ -z "$(ip -n "$ns" route show default)$(ip -n "$ns" -6 route show default)" ] || return 1
	done
}

# mac NS IF
mac() { ip -n "$1" -br link show dev "$2" | awk '{print $3}'; }

net_up() {
	local n
	for n in lan edge attacker4 attacker6 client; do ns_add "$n" || return 1; done
	ip -n "$NS_LAN" link add br0 type bridge forward_delay 0 stp_state 0 || return 1
	ip -n "$NS_LAN" link set br0 up
	for n in edge attacker4 attacker6 client; do
		veth "$(ns_name $n)" eth0 "$NS_LAN" "p-$n" || return 1
		ip -n "$NS_LAN" link set "p-$n" master br0 || return 1
		ip netns exec "$(ns_name $n)" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 \
			net.ipv6.conf.eth0.accept_ra=0
	done
	addr "$NS_EDGE" eth0 $EDGE4/24 && addr "$NS_EDGE" eth0 $EDGE6/64 &&
	addr "$NS_A4" eth0 $ATT4/24 && addr "$NS_A6" eth0 $ATT6/64 &&
	addr "$NS_CLI" eth0 $CLI4/24 && addr "$NS_CLI" eth0 $CLI6/64 || return 1
	# Static neighbours between the edge and the attackers: no ARP or ND from
	# them, so every IP packet they send to the edge is one the test sent.
	ip -n "$NS_A4" neigh replace $EDGE4 lladdr "$(mac "$NS_EDGE" eth0)" dev eth0 nud permanent &&
	ip -n "$NS_A6" neigh replace $EDGE6 lladdr "$(mac "$NS_EDGE" eth0)" dev eth0 nud permanent &&
	ip -n "$NS_EDGE" neigh replace $ATT4 lladdr "$(mac "$NS_A4" eth0)" dev eth0 nud permanent &&
	ip -n "$NS_EDGE" neigh replace $ATT6 lladdr "$(mac "$NS_A6" eth0)" dev eth0 nud permanent
}

keys_and_configs() {
	ssh-keygen -q -t ed25519 -N '' -C lab-host -f "$LAB/ssh_host_ed25519_key" &&
	ssh-keygen -q -t ed25519 -N '' -C lab-client -f "$LAB/client_key" || return 1
	cp "$LAB/client_key.pub" "$LAB/authorized_keys"
	echo "$EDGE4,$EDGE6 $(cut -d' ' -f1,2 "$LAB/ssh_host_ed25519_key.pub")" >"$LAB/known_hosts"
	sed "s|@LAB@|$LAB|g" "$TOP/scripts/lab/sshd_config.in" >"$LAB/sshd_config" || return 1
	sed -e "s|@LAB@|$LAB|g" -e "s|@RULES@|$TOP/rules|g" \
	    -e "s|@LOCAL_RULES@|$TOP/scripts/lab/local_rules.xml|g" \
	    -e "s|@TIMEOUT@|$LAB_TIMEOUT|g" -e "s|@REPEAT@|$LAB_REPEAT|g" \
		"$TOP/scripts/lab/xdpban.conf.in" >"$LAB/xdpban.conf" || return 1
	mkdir -p "$LAB/state"
	: >"$LAB/sshd.log"
}

# sshd logs to stderr; each line goes to the file xdpban follows, with an
# ISO 8601 header as rsyslog writes it, and to sshd.stamped with the instant
# it was written (for the log line -> ban latency). No fork per line.
sshd_logger() {
	local line now pid
	while IFS= read -r line; do
		line=${line%$'\r'}
		now=$EPOCHREALTIME
		[ -z "${pid:-}" ] && pid=$(cat "$LAB/sshd.pid" 2>/dev/null)
		printf '%(%Y-%m-%dT%H:%M:%S)T.%s+00:00 edge sshd[%s]: %s\n' \
			"${now%.*}" "${now#*.}" "${pid:-0}" "$line" >>"$LAB/sshd.log"
		printf '%s %s\n' "$now" "$line" >>"$LAB/sshd.stamped"
	done
}
# The daemon's own messages, stamped the same way.
stamp_lines() {
	local line
	while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line" >>"$1"; done
}

sshd_up() {
	# The privilege-separation directory sshd insists on (Debian creates it
	# at boot through tmpfiles; left in place, as the package would).
	mkdir -p /run/sshd && chmod 0755 /run/sshd
	ip netns exec "$NS_EDGE" /usr/sbin/sshd -t -f "$LAB/sshd_config" || return 1
	ip netns exec "$NS_EDGE" /usr/sbin/sshd -D -e -f "$LAB/sshd_config" 2>&1 </dev/null | sshd_logger &
	bg_track $!
	wait_until 5 tcp_ok "$NS_CLI" $EDGE4 22 1
}

daemon_up() {
	ip netns exec "$NS_EDGE" "$XDPBAN" run --config "$LAB/xdpban.conf" --foreground 2>&1 </dev/null |
		stamp_lines "$LAB/xdpban.log" &
	bg_track $!
	# Attached when the link is pinned; then it must be following the log
	# (from its end) before the attack starts: it says "ready".
	wait_until 10 test -e "$XDPBAN_PIN_DIR/link_eth0" || return 1
	wait_until 5 grep -q -w ready "$LAB/xdpban.log" || sleep 0.5
	ip netns pids "$NS_EDGE" | grep -q . && pgrep -f -- "--config $LAB/xdpban.conf" >/dev/null
}

# --- actors ------------------------------------------------------------------

# client_ssh DST: the client's key login, running a command; bounded.
# 15 s: a login under load (sshd busy with the attackers' guesses, a loaded
# machine) took 6 s; a client the edge dropped never gets through at all.
client_ssh() {
	ip netns exec "$NS_CLI" timeout 15 ssh -F /dev/null -i "$LAB/client_key" -o IdentitiesOnly=yes \
		-o BatchMode=yes -o UserKnownHostsFile="$LAB/known_hosts" -o StrictHostKeyChecking=yes \
		-o ConnectTimeout=10 -o LogLevel=ERROR "root@$1" 'echo lab-ok' </dev/null 2>/dev/null |
		grep -qx lab-ok
}

# The client logs in about once a second, alternating IPv4 and IPv6, until
# told to stop (bounded to 240 logins).
client_loop() {
	local i dst fam r
	for ((i = 0; i < 240; i++)); do
		[ -e "$LAB/client.stop" ] && break
		if ((i % 2)); then dst=$EDGE6 fam=v6; else dst=$EDGE4 fam=v4; fi
		if client_ssh $dst; then r=ok; else r=fail; fi
		echo "$EPOCHREALTIME $fam $r" >>"$LAB/client.log"
		sleep 1
	done
}

# attack_loop NAME NS DST KIND ROUND: the real ssh client guessing, one
# password per connection, at most MAX_ATTEMPTS times or until NAME.stop.
# KIND invalid: user names that do not exist, every third one an attempt
# at log injection naming the client's address; KIND root: root's password.
# Each attempt is logged as "ROUND START END RESULT USER", RESULT being
# refused (sshd answered and said no), timeout (no answer) or other.
attack_loop() {
	local name=$1 ns=$2 dst=$3 kind=$4 round=$5 i user t0 err res
	local names=(admin oracle support guest deploy ftpuser ubnt postgres test pi)
	for ((i = 1; i <= MAX_ATTEMPTS; i++)); do
		[ -e "$LAB/$name.stop" ] && break
		if [ "$kind" = invalid ] && ((i % 3 == 1)); then
			# sshd logs "Invalid user admin from 198.18.0.10 port 22 from
			# 198.18.0.66 port N": only the last address is sshd's own.
			user="admin from $CLI4 port 22"
		elif [ "$kind" = invalid ]; then
			user=${names[i % ${#names[@]}]}$round$i
			getent passwd "$user" >/dev/null && continue
		else
			user=root
		fi
		t0=$EPOCHREALTIME
		err=$(ip netns exec "$ns" timeout 4 sshpass -p "guess-$round-$i" ssh -F /dev/null \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o PreferredAuthentications=password -o PubkeyAuthentication=no \
			-o NumberOfPasswordPrompts=1 -o ConnectTimeout=2 -o LogLevel=ERROR \
			-l "$user" "$dst" true 2>&1 </dev/null >/dev/null)
		case $? in
		124) res=timeout ;;
		*) case $err in
			*"Permission denied"*) res=refused ;;
			*"timed out"*) res=timeout ;;
			*) res=other ;;
			esac ;;
		esac
		echo "$round $t0 $EPOCHREALTIME $res ${user// /_}" >>"$LAB/$name.log"
	done
}

declare -A APID
attack_start() {   # ROUND
	rm -f "$LAB/attacker4.stop" "$LAB/attacker6.stop"
	attack_loop attacker4 "$NS_A4" $EDGE4 invalid "$1" & APID[4]=$!; bg_track $!
	attack_loop attacker6 "$NS_A6" $EDGE6 root "$1" & APID[6]=$!; bg_track $!
}
attack_stop() {
	touch "$LAB/attacker4.stop" "$LAB/attacker6.stop"
	wait_until 8 bash -c "! kill -0 ${APID[4]} 2>/dev/null && ! kill -0 ${APID[6]} 2>/dev/null"
}

# --- observing the data plane ------------------------------------------------

xb() { "$XDPBAN" "$@"; }
# ban_json ADDR: the list entry of an active ban of ADDR (empty if none).
ban_json() {
	xb list --json 2>/dev/null |
		jq -c --arg a "$1" 'first(.[] | select(.addr == $a and (.prefix == 32 or .prefix == 128)))' 2>/dev/null
}
# field JSON KEY
field() { jq -r ".$2 // empty" <<<"$1"; }
ban_packets() { field "$(ban_json "$1")" packets; }
stat_dropped() { xb stats --json 2>/dev/null | jq -r '.dropped // empty'; }

# After the ban of ADDR seen at SEEN_US: when the daemon logged it (stamped),
# else SEEN_US; and the last sshd line from ADDR that counted towards a rule.
ban_time_us() {   # ADDR SEEN_US SINCE_US
	local t
	t=$(awk -v a="$1" -v s="$3" '
		{ l = tolower($0); t = $1; sub(/\./, "", t) }
		t + 0 >= s + 0 && index($0, " " a " ") && l ~ /ban/ && l !~ /unban|expir|lift/ { print $1; exit }' \
		"$LAB/xdpban.log" 2>/dev/null)
	if [ -n "$t" ]; then echo $((10#${t/./})); else echo "$2"; fi
}
# ban_logged ADDR SINCE_US WORD: the word after WORD in the daemon's line
# about that ban (e.g. "timeout" -> "20s", "until" -> its end).
ban_logged() {
	awk -v a="$1" -v s="$2" -v w="$3" '
		{ l = tolower($0); t = $1; sub(/\./, "", t) }
		t + 0 >= s + 0 && index($0, " " a " ") && l ~ /ban/ && l !~ /unban|expir|lift/ {
			for (i = 1; i < NF; i++) if ($i == w) { print $(i + 1); exit } }' \
		"$LAB/xdpban.log" 2>/dev/null
}
# The end the daemon recorded for that ban ("... until 2026-11-28T07:44:47Z"),
# in microseconds since the epoch; empty when its log does not say.
ban_until_us() {   # ADDR SINCE_US
	local u
	u=$(ban_logged "$1" "$2" until)
	[ -n "$u" ] && u=$(date -d "$u" +%s 2>/dev/null) && echo $((u * 1000000))
}
# failed_lines ADDR FROM_US TO_US: sshd's failed-login lines from ADDR, as
# the rules count them: 5712 counts every line 5710 matches (as in Wazuh,
# "invalid user" anywhere: also "Failed password for invalid user" and
# "Connection closed by invalid user"), 5763 counts "Failed password".
failed_lines() {
	awk -v a="$1" -v s="$2" -v e="$3" '
		{ t = $1; sub(/\./, "", t) }
		t + 0 >= s + 0 && t + 0 <= e + 0 &&
		(index($0, " from " a " ") || index($0, " " a " port ")) &&
		/[Ii]nvalid user|[Ii]llegal user|Failed password/ { n++ }
		END { print n + 0 }' "$LAB/sshd.stamped"
}
# trigger_time_us ADDR RULE BEFORE_US: when the log line that fired RULE for
# ADDR was written. Which line that was, xdpban logtest says: it replays the
# same log with the same rules (timestamps from the lines, so the same
# correlation). sshd.log and sshd.stamped are written line for line.
trigger_time_us() {
	local t best
	best=$("$XDPBAN" logtest --rules "$TOP/rules" --local-rules "$TOP/scripts/lab/local_rules.xml" \
			--json "$LAB/sshd.log" 2>/dev/null |
		jq -r --arg a "$1" --argjson r "${2:-0}" 'select(.srcip == $a and .rule == $r) | .line' 2>/dev/null |
		while read -r n; do
			t=$(sed -n "${n}{s/ .*//;s/\.//;p;q}" "$LAB/sshd.stamped")
			[ -n "$t" ] && [ "$((10#$t))" -le "$3" ] && echo "$((10#$t))"
		done | tail -1)
	if [ -n "$best" ]; then echo "$best"; return; fi
	# Without logtest's answer: the last failed-login line from ADDR.
	t=$(awk -v a="$1" -v lim="$3" '
		{ t = $1; sub(/\./, "", t) }
		t + 0 > lim + 0 { exit }
		(index($0, " from " a " ") || index($0, " " a " port ")) &&
			/[Ii]nvalid user|[Ii]llegal user|Failed password/ { last = $1 }
		END { if (last != "") print last }' "$LAB/sshd.stamped")
	[ -n "$t" ] && echo $((10#${t/./}))
}

# watch_bans ROUND LIMIT_S: poll the map every 50 ms until both attackers
# are banned (in round 2: banned again). Fills SEEN[4|6] and ENTRY[4|6].
declare -A SEEN ENTRY RULE OFFENCE EXPIRES LAT ATTEMPTS BANNED_AT BAN_END BAN_LEN
watch_bans() {
	local round=$1 limit_us=$(($(now_us) + $2 * 1000000)) f a e
	SEEN=() ENTRY=()
	while [ "$(now_us)" -lt $limit_us ]; do
		for f in 4 6; do
			[ -n "${SEEN[$f]:-}" ] && continue
			if [ $f = 4 ]; then a=$ATT4; else a=$ATT6; fi
			e=$(ban_json $a)
			[ -z "$e" ] && continue
			# Round 2 wants the new ban, not the tail of the first one.
			if [ "$round" = 2 ] && [ "$(field "$e" offence)" = 1 ]; then continue; fi
			SEEN[$f]=$(now_us) ENTRY[$f]=$e
		done
		[ -n "${SEEN[4]:-}" ] && [ -n "${SEEN[6]:-}" ] && return 0
		sleep 0.05
	done
	return 1
}

# report_ban FAMILY ROUND ATTACK_START_US: narrate and check one ban.
report_ban() {
	local f=$1 round=$2 start=$3 a e rule off exp tban ttrig lat n freq want_rule want_lo want_hi el
	if [ "$f" = 4 ]; then a=$ATT4 want_rule=5712; else a=$ATT6 want_rule=5763; fi
	e=${ENTRY[$f]:-}
	if [ -z "$e" ]; then
		fail "ipv$f-ban-$round" "attacker$f ($a) was not banned in round $round"
		return
	fi
	rule=$(field "$e" rule) off=$(field "$e" offence) exp=$(field "$e" expires_in)
	tban=$(ban_time_us $a "${SEEN[$f]}" "$start")
	ttrig=$(trigger_time_us $a "$rule" "$tban")
	n=$(failed_lines $a "$start" "${ttrig:-$tban}")
	if [ -n "$ttrig" ]; then lat=$((tban - ttrig)); else lat=; fi
	RULE[$f,$round]=$rule OFFENCE[$f,$round]=$off EXPIRES[$f,$round]=$exp
	LAT[$f,$round]=$lat ATTEMPTS[$f,$round]=$n BANNED_AT[$f,$round]=$tban
	BAN_END[$f,$round]=$(ban_until_us $a "$start")
	BAN_LEN[$f,$round]=$(ban_logged $a "$start" timeout)
	say_at "$tban" "rule ${rule:-?} fired for $a after $n failed-login lines; banned for ${BAN_LEN[$f,$round]:-${exp:-?} s} (offence ${off:-?})," \
		"$( [ -n "$lat" ] && fmt_ms "$lat" || echo "?") after the triggering log line"
	# Quote both lines, so the reader sees what happened.
	if [ -n "$ttrig" ]; then
		quote "sshd:   $(awk -v t="$ttrig" '{ s = $1; sub(/\./, "", s) } s + 0 == t + 0 { $1 = ""; print substr($0, 2); exit }' "$LAB/sshd.stamped")"
	fi
	quote "xdpban: $(awk -v a="$a" -v s="$start" '
		{ l = tolower($0); t = $1; sub(/\./, "", t) }
		t + 0 >= s + 0 && index($0, " " a " ") && l ~ /ban/ && l !~ /unban|expir|lift/ {
			for (i = 2; i < NF && $i !~ /ban$/; i++) ;
			o = $i; for (j = i + 1; j <= NF; j++) o = o " " $j; print o; exit }' "$LAB/xdpban.log")"
	# expires_in was read when the poll first saw the ban, el s (rounded up)
	# after the ban's log line: it may be down by that, plus one for rounding
	# down, and never above the timeout that was set.
	el=$(( (${SEEN[$f]} - tban + 999999) / 1000000 ))
	[ "$el" -ge 0 ] || el=0
	# Expected: the rule for this kind of attack on the first round (the
	# second may be caught by either rule: both count its lines).
	if [ "$round" = 1 ]; then
		verify "ipv$f-rule-$round" "  attacker$f: rule $rule is the expected $want_rule" \
			"attacker$f: rule '$rule', expected $want_rule" [ "$rule" = $want_rule ]
		want_lo=$((LAB_TIMEOUT - el - 1)) want_hi=$LAB_TIMEOUT
		verify "ipv$f-offence-$round" "  attacker$f: first offence" \
			"attacker$f: offence '$off', expected 1" [ "$off" = 1 ]
		# Neither early nor late: the line that fired is the rule's Nth.
		freq=$(sed -n "s/.*<rule id=\"$want_rule\".* frequency=\"\([0-9]*\)\".*/\1/p" \
			"$TOP/scripts/lab/local_rules.xml")
		verify "ipv$f-count-$round" "  attacker$f: fired on failed-login line $n of $freq" \
			"attacker$f: fired on failed-login line $n, the rule's frequency is ${freq:-?}" [ "$n" = "$freq" ]
	else
		verify "ipv$f-rule-$round" "  attacker$f: rule $rule is a brute-force rule" \
			"attacker$f: rule '$rule', expected 5712 or 5763" test "$rule" = 5712 -o "$rule" = 5763
		want_lo=$((ESCALATED - el - 1)) want_hi=$ESCALATED
		verify "ipv$f-offence-$round" "  attacker$f: offence $off, the escalated timeout applies" \
			"attacker$f: offence '$off', expected 2 or more" is_int_ge "$off" 2
	fi
	verify "ipv$f-timeout-$round" "  attacker$f: ban ends in ${exp} s (expected $want_lo..$want_hi s)" \
		"attacker$f: expires_in '$exp', expected $want_lo..$want_hi" \
		awk -v x="${exp:-x}" -v lo="$want_lo" -v hi="$want_hi" 'BEGIN { exit !(x ~ /^[0-9.]+$/ && x >= lo && x <= hi) }'
	verify "ipv$f-window-$round" "  attacker$f: banned $(fmt_s $((tban - start))) s after its attack began" \
		"attacker$f: banned $(fmt_s $((tban - start))) s after the attack began (limit 15 s)" \
		[ $((tban - start)) -le 15000000 ]
	if [ -n "$lat" ]; then
		verify "ipv$f-latency-$round" "  attacker$f: log line -> ban in $(fmt_ms "$lat")" \
			"attacker$f: log line -> ban took $(fmt_ms "$lat") (limit 1 s)" [ "$lat" -le 1000000 ]
	else
		fail "ipv$f-latency-$round" "attacker$f: no sshd line from $a before the ban"
	fi
}

# blocked_now FAMILY ROUND SINCE_US: an attempt after SINCE_US whose
# connection failed (the ssh client timed out).
blocked_after() {
	awk -v r="$2" -v s="$3" '{ t = $2; sub(/\./, "", t) }
		$1 == r && t + 0 >= s + 0 && $4 == "timeout" { f = 1 } END { exit !f }' \
		"$LAB/attacker$1.log"
}

is_int_ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
tcp_blocked() { ! tcp_from "$1"; }

# tcp_from FAMILY: can that attacker open TCP to sshd right now (0.3 s)?
tcp_from() {
	if [ "$1" = 4 ]; then
		ip netns exec "$NS_A4" timeout 0.3 nc -z -w 1 $EDGE4 22 >/dev/null 2>&1
	else
		ip netns exec "$NS_A6" timeout 0.3 nc -6 -z -w 1 $EDGE6 22 >/dev/null 2>&1
	fi
}

# expiry_probe FAMILY LIMIT_S: TCP probes until one connects. Writes when
# the last refused probe began to $LAB/dropFAMILY (the ban held after it)
# and when the first connect ended to $LAB/openFAMILY (the ban had ended):
# bounds on the lift that hold however long each probe takes. 0.8 s a probe:
# less than the 1 s before a SYN is sent again.
expiry_probe() {
	local lim=$(($(now_us) + $2 * 1000000)) ts nc6=
	local ns=$NS_A4 dst=$EDGE4
	[ "$1" = 6 ] && ns=$NS_A6 dst=$EDGE6 nc6=-6
	while [ "$(now_us)" -lt $lim ]; do
		ts=$(now_us)
		if ip netns exec "$ns" timeout 0.8 nc $nc6 -z -w 1 "$dst" 22 >/dev/null 2>&1; then
			now_us >"$LAB/open$1"; return 0
		fi
		echo "$ts" >"$LAB/drop$1"
		sleep 0.05
	done
	return 1
}

# Connections cut by the ban would add packets of their own to the counts:
# the attackers' orphaned sockets retransmit their FIN, and sshd's side of
# them sends data the attackers answer with a reset. Abort both sides.
abort_sockets() {
	ip netns exec "$NS_A4" ss -K dst $EDGE4 >/dev/null 2>&1
	ip netns exec "$NS_A6" ss -K dst "[$EDGE6]" >/dev/null 2>&1
	ip netns exec "$NS_EDGE" ss -K dst $ATT4 >/dev/null 2>&1
	ip netns exec "$NS_EDGE" ss -K dst "[$ATT6]" >/dev/null 2>&1
	sleep 0.2
}

# drops_match FAMILY: 10 pings while banned; the ban's counter must grow by 10.
declare -A DROPS
drops_match() {
	local f=$1 a ns before after
	if [ "$f" = 4 ]; then a=$ATT4 ns=$NS_A4; else a=$ATT6 ns=$NS_A6; fi
	before=$(ban_packets $a)
	ip netns exec "$ns" ping -n -q -c 10 -i 0.05 -W 1 "$(if [ "$f" = 4 ]; then echo $EDGE4; else echo $EDGE6; fi)" \
		>/dev/null 2>&1 && return 1   # a reply means the ban leaks
	sleep 0.2
	after=$(ban_packets $a)
	DROPS[$f]="$((${after:-0} - ${before:-0}))"
	# Gone: it ended before the count did (the steps before took too long).
	[ -n "$after" ] || DROPS[$f]="? (the ban ended during the count, $LAB_TIMEOUT s after it began)"
	[ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) = 10 ]
}

client_not_banned() {
	[ -z "$(ban_json $CLI4)" ] && [ -z "$(ban_json $CLI6)" ] &&
		! grep -q -e " $CLI4 " -e " $CLI6 " "$LAB/xdpban.log"
}

client_counts() {   # prints "OK FAIL"
	awk '$3 == "ok" { o++ } $3 == "fail" { f++ } END { printf "%d %d\n", o, f }' "$LAB/client.log" 2>/dev/null
}

# --- the scenario --------------------------------------------------------------

summary() {
	local f c ok_n fail_n
	read -r ok_n fail_n < <(client_counts)
	row() { printf '  %-34s %-18s %-18s\n' "$@"; }
	cell() { local v=${1:-}; echo "${v:--}"; }
	echo
	echo "Summary"
	row "" "attacker4 (IPv4)" "attacker6 (IPv6)"
	row "source address" $ATT4 $ATT6
	row "attack" "invalid users" "root's password"
	for c in 1 2; do
		row "round $c: failed-login lines to ban" "$(cell "${ATTEMPTS[4,$c]:-}")" "$(cell "${ATTEMPTS[6,$c]:-}")"
		row "round $c: rule fired" "$(cell "${RULE[4,$c]:-}")" "$(cell "${RULE[6,$c]:-}")"
		row "round $c: log line -> ban" \
			"$( [ -n "${LAT[4,$c]:-}" ] && fmt_ms "${LAT[4,$c]}" || echo -)" \
			"$( [ -n "${LAT[6,$c]:-}" ] && fmt_ms "${LAT[6,$c]}" || echo -)"
		row "round $c: offence, ban length" "${OFFENCE[4,$c]:--}, ${BAN_LEN[4,$c]:-${EXPIRES[4,$c]:--} s}" \
			"${OFFENCE[6,$c]:--}, ${BAN_LEN[6,$c]:-${EXPIRES[6,$c]:--} s}"
	done
	row "dropped of 10 pings while banned" "$(cell "${DROPS[4]:-}")" "$(cell "${DROPS[6]:-}")"
	row "ban lifted after (configured ${LAB_TIMEOUT} s)" \
		"$( [ -n "${LIFTED[4]:-}" ] && echo "$(fmt_s "${LIFTED[4]}") s" || echo -)" \
		"$( [ -n "${LIFTED[6]:-}" ] && echo "$(fmt_s "${LIFTED[6]}") s" || echo -)"
	row "  seen open after its recorded end" \
		"$( [ -n "${LIFT_LATE[4]:-}" ] && fmt_ms "${LIFT_LATE[4]}" || echo -)" \
		"$( [ -n "${LIFT_LATE[6]:-}" ] && fmt_ms "${LIFT_LATE[6]}" || echo -)"
	row "client key logins (ok / failed)" "$ok_n / $fail_n" ""
	row "data plane: dropped packets total" "$(cell "$(stat_dropped)")" ""
	if [ "$LAB_FLEET" = 1 ] && [ -n "${FSTART:-}" ]; then
		ms() { if [ -n "${1:-}" ]; then fleet_ms "$1"; else echo -; fi; }
		row "fleet: $FATT on edge1, rule 5712," "" ""
		row "  location all" "edge2" "edge3"
		row "  edge1's log line -> edge1's ban" "$(ms "${FPROP[edge1]:-}")" ""
		row "  edge1's log line -> ban here" "$(ms "${FPROP[edge2]:-}")" "$(ms "${FPROP[edge3]:-}")"
		row "  dropped of 10 pings" "$(cell "${FDROPS[edge2]:-}")" "$(cell "${FDROPS[edge3]:-}")"
		row "  client key logins (ok / failed)" "${FCLIENT[ok]:-0} / ${FCLIENT[fail]:-0} (edge1..3)" ""
		row "  fleet part took" "$( [ -n "${FTIME:-}" ] && echo "$(fmt_s "$FTIME") s" || echo -)" ""
	fi
	row "checks failed" "$_FAILS" ""
	row "total time" "$(fmt_s $(($(now_us) - T0))) s" ""
}

declare -A LIFTED LIFT_LATE
scenario() {
	local f start a t expect
	say "lab: edge $EDGE4 / $EDGE6 runs OpenSSH $(/usr/sbin/sshd -V 2>&1 | sed -n 's/^OpenSSH_\([^,]*\).*/\1/p' | head -1)" \
		"and xdpban (first ban ${LAB_TIMEOUT} s, repeat offenders ${ESCALATED} s)"
	net_up || die setup "could not build the namespaces"
	keys_and_configs || die setup "could not write keys and configs"
	sshd_up || die sshd-up "sshd did not start (see $LAB/sshd.log)"
	pass sshd-up "sshd listens on the edge; its log goes to a file (no journald)"
	daemon_up || die daemon-up "xdpban run did not start: $(tail -3 "$LAB/xdpban.log" 2>/dev/null | cut -d' ' -f2- | tr '\n' ' ')"
	pass daemon-up "xdpban run attached to the edge's eth0 and follows the sshd log"
	verify isolated "  no lab namespace has a default route: nothing leaves them" \
		"a lab namespace has a default route" no_default_routes

	verify client-v4-before "client: key login over IPv4 works" "client: key login over IPv4 failed" client_ssh $EDGE4
	verify client-v6-before "client: key login over IPv6 works" "client: key login over IPv6 failed" client_ssh $EDGE6
	client_loop & bg_track $!

	# Round 1: both attackers start; each is banned by its rule.
	start=$(now_us)
	attack_start 1
	say "attack starts: attacker4 ($ATT4) tries invalid users (some named \"admin from $CLI4 port 22\"," \
		"the client's address), attacker6 ($ATT6) guesses root's password"
	watch_bans 1 20
	for f in 4 6; do report_ban $f 1 "$start"; done
	[ -n "${SEEN[4]:-}${SEEN[6]:-}" ] || die no-ban "no ban within 20 s: $(tail -3 "$LAB/xdpban.log" | cut -d' ' -f2- | tr '\n' ' ')"

	# The attackers' connections now time out.
	for f in 4 6; do
		[ -n "${SEEN[$f]:-}" ] || continue
		if wait_until 8 blocked_after $f 1 "${SEEN[$f]}"; then
			pass "ipv$f-attempts-time-out" "attacker$f: ssh now times out; XDP has dropped $(ban_packets "$(if [ $f = 4 ]; then echo $ATT4; else echo $ATT6; fi)") of its packets so far"
		else
			fail "ipv$f-attempts-time-out" "attacker$f: no timed-out attempt after the ban"
		fi
		verify "ipv$f-tcp-blocked" "  attacker$f: TCP connect to :22 fails" \
			"attacker$f: TCP connect to :22 still works while banned" tcp_blocked $f
	done
	attack_stop
	say "attackers paused; counting drops: 10 pings from each"
	local g0 g1
	abort_sockets
	g0=$(stat_dropped)
	for f in 4 6; do
		if drops_match $f; then
			pass "ipv$f-counters" "attacker$f: 10 pings sent, its ban's drop counter rose by ${DROPS[$f]}"
		else
			fail "ipv$f-counters" "attacker$f: ban counter +${DROPS[$f]:-?} for 10 packets sent (or a reply came back)"
		fi
	done
	g1=$(stat_dropped)
	verify global-counter "data plane: $g1 packets dropped in all so far, +$((g1 - g0)) for the 20 pings" \
		"global drop counter +$((${g1:-0} - ${g0:-0})) for 20 pings sent" \
		test -n "$g0" -a -n "$g1" -a "$((${g1:-0} - ${g0:-0}))" = 20
	verify client-v4-during "client: key login over IPv4 works while the attackers are banned" \
		"client: IPv4 login failed during the ban" client_ssh $EDGE4
	verify client-v6-during "client: key login over IPv6 works while the attackers are banned" \
		"client: IPv6 login failed during the ban" client_ssh $EDGE6

	# Expiry: each attacker probes about every 0.4 s (in parallel); the ban
	# must lift at its end, enforced by the kernel.
	say "waiting for the bans to expire (${LAB_TIMEOUT} s after each ban)"
	rm -f "$LAB/open4" "$LAB/open6" "$LAB/drop4" "$LAB/drop6"
	for f in 4 6; do
		[ -n "${SEEN[$f]:-}" ] || continue
		expiry_probe $f $((LAB_TIMEOUT + 10)) & bg_track $!
	done
	wait_until $((LAB_TIMEOUT + 12)) test -e "$LAB/open4" -a -e "$LAB/open6"
	for f in 4 6; do
		t=$(cat "$LAB/open$f" 2>/dev/null)
		if [ $f = 4 ]; then a=$ATT4; else a=$ATT6; fi
		if [ -z "$t" ]; then fail "ipv$f-expiry" "attacker$f: still blocked ${LAB_TIMEOUT}+10 s after the ban"; continue; fi
		LIFTED[$f]=$((t - BANNED_AT[$f,1]))
		d=$(cat "$LAB/drop$f" 2>/dev/null || echo "${BANNED_AT[$f,1]}")
		# On time: against the end the daemon recorded when it says (whole
		# wall-clock seconds, rounded up, so the kernel may lift it up to a
		# second before), else the timeout from the ban. Late: a probe
		# refused that began after the end; early: a connect done before.
		if [ -n "${BAN_END[$f,1]:-}" ]; then
			late=$((d - BAN_END[$f,1])) early=$((t - BAN_END[$f,1]))
			LIFT_LATE[$f]=$early
			if [ -e "$LAB/drop$f" ]; then
				span="between $(fmt_ms "$late") and $(fmt_ms "$early") after its recorded end"
			else    # the first probe got through: the steps during the ban outlasted it
				span="by $(fmt_ms "$early") after its recorded end (the first probe got through)"
			fi
			verify "ipv$f-expiry" "ban on $a lifted $span ($(fmt_s "${LIFTED[$f]}") s after it began, configured $LAB_TIMEOUT s): TCP connects succeed again" \
				"attacker$f: ban held $(fmt_ms "$late") after its recorded end, or lifted $(fmt_ms "$early") after it (allowed -1.1 s .. +1.5 s)" \
				test "$late" -le 1500000 -a "$early" -ge -1100000
		else
			say "ban on $a lifted after $(fmt_s "${LIFTED[$f]}") s (configured $LAB_TIMEOUT s): TCP connects succeed again"
		fi
		# And its length: the timeout, give or take a second (whole seconds
		# in the daemon's records), by the same two bounds.
		expect=$((LAB_TIMEOUT * 1000000)) held=$((d - BANNED_AT[$f,1]))
		verify "ipv$f-expiry-length" "  attacker$f: banned for $(fmt_s "$held")..$(fmt_s "${LIFTED[$f]}") s of $LAB_TIMEOUT s" \
			"attacker$f: ban held $(fmt_s "$held") s, lifted by $(fmt_s "${LIFTED[$f]}") s, configured $LAB_TIMEOUT s (allowed -1.1 s .. +1.5 s)" \
			test "$held" -le $((expect + 1500000)) -a "${LIFTED[$f]}" -ge $((expect - 1100000))
	done

	# Round 2: the attackers return and are banned again, for longer.
	start=$(now_us)
	attack_start 2
	say "the attackers return"
	watch_bans 2 20
	for f in 4 6; do report_ban $f 2 "$start"; done
	for f in 4 6; do
		[ -n "${SEEN[$f]:-}" ] || continue
		wait_until 3 tcp_blocked $f
		verify "ipv$f-tcp-blocked-2" "  attacker$f: blocked again" \
			"attacker$f: TCP connect still works after the second ban" \
			tcp_blocked $f
	done
	attack_stop
	touch "$LAB/client.stop"

	local ok_n fail_n
	read -r ok_n fail_n < <(client_counts)
	verify client-throughout "client: $ok_n key logins during the attack, none failed" \
		"client: $fail_n of $((ok_n + fail_n)) logins failed during the attack" \
		test "$fail_n" = 0 -a "$ok_n" -ge 5
	verify client-never-banned "client: never banned, although attacker4's user names named its address" \
		"client: banned (log injection worked)" client_not_banned
	verify client-v4-after "client: key login over IPv4 still works" "client: IPv4 login failed at the end" client_ssh $EDGE4
	verify client-v6-after "client: key login over IPv6 still works" "client: IPv6 login failed at the end" client_ssh $EDGE6
}


# --- the fleet -------------------------------------------------------------------
# The fleet story (issue 13) in namespaces of its own, built by
# scripts/fleet-lab.sh as the fleet's e2e test builds them: a hub
# (nats-server, JetStream, TLS; the manager) and edge1..edge3 (OpenSSH and an
# xdpban agent each). An attacker brute-forces edge1; rule 5712 has
# <location>all</location>: edge1 bans at once, the manager's decision makes
# edge2 and edge3 drop it too. A client next to the attacker keeps logging in.
# shellcheck source=scripts/fleet-lab.sh
. "$TOP/scripts/fleet-lab.sh"
FATT=198.18.70.11 FCLI=198.18.70.10
FL_RULES=$TOP/scripts/lab/local_rules.xml
FL_RESPONSES="  <active-response>
    <command>firewall-drop</command> <location>all</location>
    <rules_id>5712</rules_id> <timeout>60</timeout>
  </active-response>"
declare -A FPROP FDROPS FCLIENT

fleet_up() {
	local h e
	FLEET=$LAB/fleet FL_AUTH_KEYS=$LAB/client_key.pub
	mkdir -p "$FLEET" && chmod 0755 "$FLEET" || return 1
	fl_net_up || { FWHY="namespaces"; return 1; }
	fl_certs || { FWHY="openssl"; return 1; }
	{ fl_nats_conf && fl_hosts_conf; } || { FWHY="configs or bpffs"; return 1; }
	fl_nats_up || { FWHY="nats-server: $(tail -2 "$FLEET/nats.log" | tr '\n' ' ')"; return 1; }
	for e in edge1 edge2 edge3; do fl_sshd_up $e || { FWHY="$e's sshd"; return 1; }; done
	for e in edge1 edge2 edge3; do
		echo "$(fl_edge_ip $e) $(cut -d' ' -f1,2 "$FLEET/$e/ssh_host_ed25519_key.pub")"
	done >"$FLEET/known_hosts"
	# The four daemons start together: they wait for the broker each.
	for h in $FL_HOSTS; do fl_xb_start "$h"; done
	for h in $FL_HOSTS; do
		fl_xb_wait "$h" || { FWHY="$h: $(tail -2 "$FLEET/$h/xdpban.log" | tr '\n' ' ')"; return 1; }
	done
	wait_until 5 bash -c "[ \"\$(XDPBAN_PIN_DIR=${FL_PIN[hub]} '$XDPBAN' status --json --socket '$FLEET/hub/xdpban.sock' |
		jq '.daemon.fleet.agents | length')\" = 4 ]" || { FWHY="the manager did not hear from every host"; return 1; }
}

# fleet_client_ssh EDGE: the client's key login from $FCLI; bounded.
fleet_client_ssh() {
	ip netns exec "${FL_NS[att]}" timeout 15 ssh -F /dev/null -b $FCLI -i "$LAB/client_key" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="$FLEET/known_hosts" \
		-o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
		"root@$(fl_edge_ip "$1")" 'echo lab-ok' </dev/null 2>/dev/null | grep -qx lab-ok
}
fleet_tcp_from() {   # SRC EDGE
	ip netns exec "${FL_NS[att]}" timeout 1 nc -z -w 1 -s "$1" "$(fl_edge_ip "$2")" 22 >/dev/null 2>&1
}
fleet_tcp_blocked() { ! fleet_tcp_from "$@"; }
# fleet_ms USEC: as fmt_ms, but "< 1 ms" under the daemon's log resolution
# (its stamps are whole ms, the log line's are us: a ban can look early).
fleet_ms() { if [ "$1" -lt 1000 ]; then echo "< 1 ms"; else fmt_ms "$1"; fi; }
fleet_banned_all() { local h; for h in $FL_HOSTS; do fl_banned_at "$h" $FATT || return 1; done; }
# fleet_log_us HOST PATTERN: when HOST's daemon logged its first line matching
# PATTERN (its own stamp, milliseconds), in microseconds.
fleet_log_us() {
	local ts
	ts=$(grep -m1 -E -- "$2" "$FLEET/$1/xdpban.log" | cut -d' ' -f1)
	[ -n "$ts" ] && ts=$(date -d "${ts}Z" +%s%6N 2>/dev/null) && echo "$ts"
}
# fleet_trigger_us: when edge1's sshd wrote the line that fired 5712 for the
# attacker (xdpban logtest replays the log with the same rules); its text too.
fleet_trigger() {
	local n line ts
	n=$("$XDPBAN" logtest --rules "$TOP/rules" --local-rules "$FL_RULES" --json "$FLEET/edge1/sshd.log" 2>/dev/null |
		jq -r --arg a $FATT 'select(.srcip == $a and .rule == 5712) | .line' 2>/dev/null | head -1)
	[ -n "$n" ] || return 1
	line=$(sed -n "${n}p" "$FLEET/edge1/sshd.log")
	ts=$(date -d "${line%% *}" +%s%6N 2>/dev/null) || return 1
	FTRIG_US=$ts FTRIG_LINE=${line#*]: }
}
# fleet_drops EDGE: 10 pings from the attacker; none answered and the ban's
# counter on EDGE rose by 10.
fleet_drops() {
	local e=$1 before after
	before=$(fl_ban_of "$e" $FATT | cut -d' ' -f3)
	ip netns exec "${FL_NS[att]}" ping -n -q -c 10 -i 0.05 -W 1 -I $FATT "$(fl_edge_ip "$e")" \
		>/dev/null 2>&1 && return 1
	sleep 0.2
	after=$(fl_ban_of "$e" $FATT | cut -d' ' -f3)
	FDROPS[$e]=$((${after:-0} - ${before:-0}))
	[ -n "$before" ] && [ -n "$after" ] && [ "${FDROPS[$e]}" = 10 ]
}
# fleet_same_end: every host's end within 1 s of edge1's.
fleet_same_end() {
	local h e first
	first=$(fl_ban_of edge1 $FATT | cut -d' ' -f1)
	[ -n "$first" ] || return 1
	for h in $FL_HOSTS; do
		e=$(fl_ban_of "$h" $FATT | cut -d' ' -f1)
		[ -n "$e" ] && [ "$e" -ge $((first - 1)) ] && [ "$e" -le $((first + 1)) ] || return 1
	done
}

fleet_scenario() {
	local t0 e tb
	t0=$(now_us)
	say "fleet: a hub (nats-server with JetStream and TLS, the manager) and edge1..edge3" \
		"(OpenSSH and an xdpban agent each), one openssl certificate per host"
	fleet_up || die fleet-up "the fleet did not come up: $FWHY"
	pass fleet-up "fleet: up in $(fmt_s $(($(now_us) - t0))) s; the manager hears from all 4 hosts over TLS"
	for e in edge2 edge3; do
		verify "fleet-$e-open-before" "  fleet: $FATT reaches $e's sshd before the attack" \
			"fleet: $FATT cannot reach $e before the attack" fleet_tcp_from $FATT $e
	done
	say "fleet: $FATT brute-forces edge1 (invalid users); rule 5712 has <location>all</location>"
	FSTART=$(now_us)
	fl_attack edge1 $FATT user 10
	wait_until 5 fleet_banned_all
	verify fleet-ban-edge1 "  fleet: edge1 banned $FATT itself, at once" \
		"fleet: edge1 did not ban $FATT" fl_banned_at edge1 $FATT
	fleet_trigger || FTRIG_US=
	tb=$(fleet_log_us edge1 "ban $FATT rule 5712 ")
	[ -n "$FTRIG_US" ] && [ -n "$tb" ] && FPROP[edge1]=$((tb - FTRIG_US))
	[ -n "$FTRIG_US" ] && quote "edge1 sshd: $FTRIG_LINE"
	for e in edge2 edge3; do
		if ! fl_banned_at $e $FATT; then
			fail "fleet-ban-$e" "fleet: $e does not ban $FATT 5 s after edge1 did"
			continue
		fi
		tb=$(fleet_log_us $e "ban $FATT ")
		if [ -n "$FTRIG_US" ] && [ -n "$tb" ]; then
			FPROP[$e]=$((tb - FTRIG_US))
			verify "fleet-ban-$e" "fleet: $e drops $FATT too, $(fleet_ms "${FPROP[$e]}") after edge1's log line (via broker and manager)" \
				"fleet: $e banned $FATT $(fleet_ms "${FPROP[$e]}") after edge1's log line (limit 2 s)" \
				[ "${FPROP[$e]}" -le 2000000 ]
		else
			fail "fleet-ban-$e" "fleet: no time for $e's ban (trigger '${FTRIG_US:-?}', ban '${tb:-?}')"
		fi
	done
	[ -n "${FPROP[edge1]:-}" ] && say "fleet: edge1 banned it $(fleet_ms "${FPROP[edge1]}") after that line, without waiting for the broker"
	verify fleet-hub "  fleet: the manager (hub) bans it too" "fleet: the hub does not ban $FATT" fl_banned_at hub $FATT
	verify fleet-same-end "  fleet: one end on every host (+-1 s)" "fleet: the hosts' ends differ" fleet_same_end
	for e in edge2 edge3; do
		if fleet_drops $e; then
			pass "fleet-$e-drops" "fleet: 10 pings from $FATT to $e, none answered; $e's ban counted ${FDROPS[$e]}"
		else
			fail "fleet-$e-drops" "fleet: $e's ban counter +${FDROPS[$e]:-?} for 10 pings (or a reply came back)"
		fi
		verify "fleet-$e-tcp" "  fleet: TCP from $FATT to $e's :22 fails" \
			"fleet: $FATT still reaches $e's sshd" fleet_tcp_blocked $FATT $e
	done
	# The three logins at once (each bounded by its timeout).
	local pids=()
	FCLIENT=([ok]=0 [fail]=0)
	for e in edge1 edge2 edge3; do
		rm -f "$FLEET/client-$e.ok"
		{ fleet_client_ssh $e && : >"$FLEET/client-$e.ok"; } &
		pids+=($!)
	done
	wait "${pids[@]}"
	for e in edge1 edge2 edge3; do
		if [ -e "$FLEET/client-$e.ok" ]; then FCLIENT[ok]=$((FCLIENT[ok] + 1)); else FCLIENT[fail]=$((FCLIENT[fail] + 1)); fi
	done
	verify fleet-client "fleet: client $FCLI, next to the attacker, logs in to edge1, edge2 and edge3 with its key" \
		"fleet: client $FCLI: ${FCLIENT[fail]} of 3 key logins failed" test "${FCLIENT[fail]}" = 0
	verify fleet-client-not-banned "  fleet: the client is banned nowhere" "fleet: the client is banned" \
		bash -c "! grep -q ' $FCLI ' '$FLEET'/*/xdpban.log"
	FTIME=$(($(now_us) - t0))
}

pin_dir_new lab || die setup "cannot mount a private bpffs"
[ -n "${LAB_INFO:-}" ] && echo "$LAB $XDPBAN_PIN_DIR $$" >"$LAB_INFO"

case $MODE in
up)
	if ! { net_up && keys_and_configs && sshd_up && daemon_up; }; then
		die setup "lab did not come up (files in $LAB)"
	fi
	cat <<EOF
The lab is up (Ctrl-C tears it down). Try, for example:
  ip netns exec $NS_A4 sshpass -p x ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null nobody1@$EDGE4
  ip netns exec $NS_CLI ssh -F /dev/null -i $LAB/client_key -o UserKnownHostsFile=$LAB/known_hosts root@$EDGE6
  XDPBAN_PIN_DIR=$XDPBAN_PIN_DIR $XDPBAN list
  tail -f $LAB/sshd.log $LAB/xdpban.log
EOF
	# Bounded too: an hour at most.
	for ((i = 0; i < 3600; i++)); do sleep 1; done
	;;
demo)
	scenario
	[ "$LAB_FLEET" = 1 ] && fleet_scenario
	summary
	if [ "$_FAILS" = 0 ]; then echo "demo: every step as expected; cleaning up"; else echo "demo: $_FAILS step(s) failed; logs in $BUILD/lab-last"; fi
	;;
e2e)
	scenario
	[ "$LAB_FLEET" = 1 ] && fleet_scenario
	summary | sed 's/^/# /'
	;;
esac
