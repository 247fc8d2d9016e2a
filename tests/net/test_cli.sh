#!/bin/bash
# The data-plane CLI: every error is one clear line on stderr with its exit
# code; --help everywhere; JSON output; ban --file (bad lines, stdin, and the
# 1,000,000-address bulk load, timed). Runs in a private namespace and bpffs.
# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

NS=$(ns_name cli)
ns_add cli || { not_ok "namespace"; exit 1; }
pin_dir_new cli || { not_ok "bpffs pin dir"; exit 1; }
P1=$XDPBAN_PIN_DIR
TMP=$(mktemp -d /tmp/xbt-cli.XXXXXX)
on_exit "rm -rf $TMP"
ip -n "$NS" link add d0 type veth peer name d1 && ip -n "$NS" link set d0 up && ip -n "$NS" link set d1 up

X() { ip netns exec "$NS" "$XDPBAN" "$@"; }

# expect_err NAME CODE REGEX CMD...: CMD exits CODE with exactly one stderr
# line matching REGEX.
expect_err() {
	local name=$1 code=$2 re=$3 rc lines; shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" = "$code" ] && [ "$lines" = 1 ] && grep -Eq "$re" "$TMP/err"; then
		ok "$name (exit $rc: $(cat "$TMP/err"))"
	else
		not_ok "$name: want exit $code and one line /$re/, got exit $rc, $lines lines:"
		sed 's/^/#   /' "$TMP/err"
	fi
}
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# --- before any map exists
expect_err "list with nothing set up" 3 "nothing attached and no bans" X list
expect_err "stats with nothing set up" 3 "nothing attached and no bans" X stats
expect_err "detach with nothing set up" 3 "nothing attached" X detach d0
expect_err "status with nothing set up" 3 "nothing attached" X status

# --- usage errors (exit 2)
expect_err "bad address" 2 "bad address or prefix '198.18.0.256'" X ban 198.18.0.256
expect_err "bad IPv6 address" 2 "bad address or prefix '2001:db8:::1'" X ban 2001:db8:::1
expect_err "bad prefix length" 2 "bad address or prefix '198.18.0.0/33'" X ban 198.18.0.0/33
expect_err "host bits below the prefix" 2 "host bits set.*198.18.0.0/24" X ban 198.18.0.1/24
expect_err "hostname is not an address" 2 "bad address or prefix 'localhost'" X ban localhost
expect_err "bad duration" 2 "bad duration '5x'" X ban 198.18.0.1 --ttl 5x
expect_err "zero duration" 2 "bad duration '0'" X ban 198.18.0.1 --ttl 0
expect_err "ttl and permanent" 2 "exclude each other" X ban 198.18.0.1 --ttl 1h --permanent
expect_err "loopback refused" 2 "refusing to ban loopback" X ban 127.0.0.1
expect_err "unspecified /0 refused" 2 "refusing to ban loopback or unspecified" X ban 0.0.0.0/0
# (these also print the usage after their one error line: check the first)
first_err() { local code=$1 re=$2 name=$3 rc; shift 3
	"$@" >/dev/null 2>"$TMP/err"; rc=$?
	if [ "$rc" = "$code" ] && head -1 "$TMP/err" | grep -Eq "$re"; then ok "$name (exit $rc: $(head -1 "$TMP/err"))"
	else not_ok "$name: want exit $code and /$re/ first, got exit $rc:"; sed 's/^/#   /' "$TMP/err"; fi
}
first_err 2 "which address" "ban without address" X ban
expect_err "unknown subcommand option" 2 "unrecognized option '--bogus'" X unban --bogus
expect_err "bad attach mode" 2 "bad mode 'turbo'" X attach d0 --mode turbo
expect_err "bad --max-bans" 2 "max-bans: not a number from 1 to" X attach d0 --max-bans 0
expect_err "bad XDPBAN_MAX_BANS" 2 "XDPBAN_MAX_BANS" env XDPBAN_MAX_BANS=lots ip netns exec "$NS" "$XDPBAN" attach d0
first_err 2 "unknown or ambiguous command 'frobnicate'" "unknown command" X frobnicate

# --- not root (exit 4): a copy nobody may execute
cp "$XDPBAN" "$TMP/xdpban" && chmod 755 "$TMP" "$TMP/xdpban"
if command -v setpriv >/dev/null; then
	expect_err "not root" 4 "needs root" setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/xdpban" ban 198.18.0.1
else
	skip "not root (no setpriv)"
fi

# --- interfaces
expect_err "no such interface" 3 "xbnosuch0: no such interface" X attach xbnosuch0
check "attach d0" X attach d0
expect_err "detach what is not attached" 3 "d1: not attached" X detach d1
expect_err "native XDP on lo: kernel/driver lacks it" 6 "lo: native XDP not supported" X attach lo --mode native
expect_err "changing the mode of an attached interface" 1 "already attached in native mode" X attach d0 --mode generic
check "attaching again replaces the program in place" X attach d0

# --- bans and lookups
expect_err "unban what is not banned" 3 "198.18.0.9 is not banned" X unban 198.18.0.9
expect_err "unallow what is not listed" 3 "198.18.0.9 is not on the allow list" X unallow 198.18.0.9
check "allow 198.18.9.0/24" X allow 198.18.9.0/24
expect_err "ban an allow-listed address" 4 "198.18.9.9 is on the allow list" X ban 198.18.9.9
# --- protected addresses: the host's own (in this namespace) and the config's allow list
ip -n "$NS" addr add 198.18.30.1/24 dev d0
ip -n "$NS" addr add 2001:db8:30::1/64 dev d0 nodad
expect_err "ban of this host's own address refused" 4 "^xdpban ban: refused: 198.18.30.1 is .*this host's address 198.18.30.1" X ban 198.18.30.1
expect_err "ban of a prefix holding this host's IPv6 address refused" 4 "^xdpban ban: refused: 2001:db8:30::/48 .*this host's address 2001:db8:30::1" X ban 2001:db8:30::/48
printf '<xdpban>\n  <white_list>198.18.31.0/24</white_list>\n</xdpban>\n' >"$TMP/allow.conf"
expect_err "ban of a configured allow-list address refused" 4 "^xdpban ban: refused: 198.18.31.7 is on the allow list \(198.18.31.0/24\)" env XDPBAN_CONFIG="$TMP/allow.conf" ip netns exec "$NS" "$XDPBAN" ban 198.18.31.7
expect_err "ban with an unreadable XDPBAN_CONFIG" 3 "cannot check the allow list" env XDPBAN_CONFIG="$TMP/missing.conf" ip netns exec "$NS" "$XDPBAN" ban 198.18.0.77
# An empty XDPBAN_CONFIG means the default, whose absence is no error.
if [ ! -e /etc/xdpban/xdpban.conf ]; then
	check "ban with XDPBAN_CONFIG empty and no config installed" \
		env XDPBAN_CONFIG= ip netns exec "$NS" "$XDPBAN" ban 198.18.0.78
	ip netns exec "$NS" "$XDPBAN" unban 198.18.0.78 >/dev/null 2>&1
else
	skip "ban with XDPBAN_CONFIG empty: this host has /etc/xdpban/xdpban.conf"
fi
check "nothing protected was banned" sh -c "! ip netns exec $NS $XDPBAN list 2>/dev/null | grep -Eq '^(198.18.30.1|198.18.31.7|2001:db8:30::)'"
check "ban with ttl and reason" X ban 198.18.0.1 --ttl 10m --reason "cli test"
check "ban permanent, IPv6 and mapped" X ban 2001:db8::1 ::ffff:198.18.0.2 198.18.4.0/22
X list --json >"$TMP/list.json"
check "list --json is one array with the documented fields" jq_py '
want = {"addr", "prefix", "expires_in", "packets", "bytes", "reason", "rule", "offence"}
assert isinstance(d, list) and len(d) == 4, d
assert all(want <= set(e) for e in d), d
e = {x["addr"]: x for x in d}
assert e["198.18.0.1"]["prefix"] == 32 and 590 <= e["198.18.0.1"]["expires_in"] <= 600
assert e["198.18.0.1"]["reason"] == "cli test"
assert e["2001:db8::1"]["prefix"] == 128 and e["2001:db8::1"]["expires_in"] is None
assert "198.18.0.2" in e, "mapped address listed as IPv4"
assert e["198.18.4.0"]["prefix"] == 22
' <"$TMP/list.json"
check "list --allow --json" sh -c "ip netns exec $NS $XDPBAN list --allow --json | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d == [{\"addr\": \"198.18.9.0\", \"prefix\": 24, \"packets\": 0}], d'"
check "stats --json has every counter" sh -c "ip netns exec $NS $XDPBAN stats --json | python3 -c '
import json,sys; d=json.load(sys.stdin)
for k in (\"seen\",\"passed\",\"dropped\",\"dropped_bytes\",\"dropped_prefix\",\"passed_allowed\",\"passed_expired\",\"parse_fail\",\"non_ip\"):
    assert isinstance(d[k], int), k'"
check "plain list shows the ban" sh -c "ip netns exec $NS $XDPBAN list | grep -q '^198.18.4.0/22 '"
check "status shows d0 and the ban counts" sh -c "ip netns exec $NS $XDPBAN status | grep -q 'd0 .*mode' &&
	ip netns exec $NS $XDPBAN status | grep -q 'bans: 2 IPv4, 1 IPv6, 1 IPv4 prefixes'"
# expires_in is whole seconds left rounded down: never more than the ttl set,
# and below 3 once any time passed (rounding up showed 3 for the first second;
# on a slow machine it may already be 1 or 0, never 3).
X ban 198.18.0.79 --ttl 3 >/dev/null 2>&1
E=$(X list --json | jq -r '.[] | select(.addr == "198.18.0.79") | .expires_in')
check "a fresh 3 s ban shows expires_in 3 or less ($E)" [ "${E:-9}" -le 3 ]
sleep 0.3
E=$(X list --json | jq -r '.[] | select(.addr == "198.18.0.79") | .expires_in')
check "expires_in rounds down: 0.3 s into a 3 s ban it is below 3 ($E)" [ "${E:-0}" -le 2 ]
X unban 198.18.0.79 >/dev/null 2>&1

X status --socket "$TMP/none.sock" >"$TMP/st" 2>&1
check "status without a daemon says so" grep -q "^daemon: not running (no answer on $TMP/none.sock" "$TMP/st"
check "status without a daemon: drops of the last minute n/a" grep -q "^drops in the last minute: n/a (needs the daemon)" "$TMP/st"
check "status shows bans by origin" grep -q "^bans by origin: 4 manual, 0 daemon" "$TMP/st"
check "status --json without a daemon" sh -c "ip netns exec $NS $XDPBAN status --json --socket $TMP/none.sock | jq -e '
	.daemon.running == false and .drops_last_minute == null and .interfaces[0].name == \"d0\" and
	.interfaces[0].mode == \"native\" and .bans.ipv4 == {\"exact\": 2, \"prefix\": 1} and
	.bans.ipv6 == {\"exact\": 1, \"prefix\": 0} and .bans.manual == 4 and .allowed == 1' >/dev/null"
expect_err "status: unknown option" 2 "unrecognized option '--bogus'" X status --bogus

# --- ban --file: bad lines reported with their numbers, the rest loads
printf '# a comment\n198.18.6.1\nnot-an-address\n  198.18.6.2   # trailing comment\n198.18.6.0/33\n\n2001:db8:6::1\n198.18.9.7\n' >"$TMP/bans.txt"
X ban --file "$TMP/bans.txt" --ttl 1h >"$TMP/out" 2>"$TMP/err"; rc=$?
check "ban --file with bad lines exits 2" test "$rc" = 2
check "bad line 3 reported with its number" grep -q "bans.txt:3: bad address or prefix 'not-an-address'" "$TMP/err"
check "bad line 5 reported with its number" grep -q "bans.txt:5: bad address or prefix '198.18.6.0/33'" "$TMP/err"
check "allow-listed line 8 reported with its number" grep -q "bans.txt:8: .*198.18.9.7 is on the allow list" "$TMP/err"
check "the good lines loaded" sh -c "ip netns exec $NS $XDPBAN list --json | python3 -c '
import json,sys; a={e[\"addr\"] for e in json.load(sys.stdin)}
assert {\"198.18.6.1\",\"198.18.6.2\",\"2001:db8:6::1\"} <= a, a'"
check "ban --file - reads stdin" sh -c "printf '198.18.7.1\n198.18.7.2\n' | ip netns exec $NS $XDPBAN ban --file - &&
	ip netns exec $NS $XDPBAN list | grep -q '^198.18.7.2 '"
printf '198.18.32.1\n198.18.30.1\n198.18.31.9\n198.18.32.2\n' >"$TMP/prot.txt"
env XDPBAN_CONFIG="$TMP/allow.conf" ip netns exec "$NS" "$XDPBAN" ban --file "$TMP/prot.txt" >"$TMP/out" 2>"$TMP/err"; rc=$?
check "ban --file with protected lines exits 2" test "$rc" = 2
check "host's address on line 2 refused with its number" grep -q "prot.txt:2: refused: 198.18.30.1 is .*this host's address" "$TMP/err"
check "allow-listed line 3 refused with its number" grep -q "prot.txt:3: refused: 198.18.31.9 is on the allow list" "$TMP/err"
check "the other lines of that file loaded" sh -c "ip netns exec $NS $XDPBAN list | grep -q '^198.18.32.1 ' &&
	ip netns exec $NS $XDPBAN list | grep -q '^198.18.32.2 ' && ! ip netns exec $NS $XDPBAN list | grep -q '^198.18.3[01]'"
expect_err "ban --file of a missing file" 3 "No such file" X ban --file "$TMP/missing"
check "flush" X flush
check "flush empties the list, keeps the allow list" sh -c "test \"\$(ip netns exec $NS $XDPBAN list --json)\" = '[]' &&
	ip netns exec $NS $XDPBAN list --allow | grep -q 198.18.9.0/24"

# --- a full map (exit 5), on a second pin dir chosen with --pin-dir
pin_dir_new small || not_ok "second pin dir"
P2=$XDPBAN_PIN_DIR
export XDPBAN_PIN_DIR=$P1
check "attach d1 with --max-bans 3 on its own pin dir" X --pin-dir "$P2" attach d1 --max-bans 3
check "three bans fit" X --pin-dir "$P2" ban 198.18.8.1 198.18.8.2 198.18.8.3
expect_err "the fourth: map full" 5 "ban map full \(3 entries\)" X --pin-dir "$P2" ban 198.18.8.4
check "nothing was evicted" sh -c "test \$(ip netns exec $NS $XDPBAN --pin-dir $P2 list --json | grep -c '\"addr\"') = 3"
check "re-arming a ban in a full map still works" X --pin-dir "$P2" ban 198.18.8.1 --ttl 1h
printf '198.18.8.5\n' >"$TMP/one.txt"
first_err 5 "ban map full \(3 entries\)" "ban --file into a full map" X --pin-dir "$P2" ban --file "$TMP/one.txt"
check "the first pin dir was untouched by --pin-dir" sh -c "! ip netns exec $NS $XDPBAN list | grep -q 198.18.8.1"
X --pin-dir "$P2" detach d1 >/dev/null 2>&1

# --- --help on every subcommand: usage on stdout, exit 0
for c in attach detach status ban unban allow unallow list stats flush; do
	if X "$c" --help >"$TMP/out" 2>"$TMP/err" && grep -q "^usage: xdpban $c" "$TMP/out" && ! [ -s "$TMP/err" ]; then
		ok "$c --help"
	else
		not_ok "$c --help"
	fi
done

# --- bulk: 1,000,000 IPv6 addresses from 2001:db8::/32 in under 2 s
python3 -c '
import sys
w = sys.stdout.write
for i in range(1000000):
    w("2001:db8:%x:%x::%x\n" % (i >> 24, (i >> 12) & 0xfff, i & 0xfff))' >"$TMP/bulk.txt"
TIMEFORMAT="%R %U %S"
{ time X ban --file "$TMP/bulk.txt" --ttl 1h 2>"$TMP/err"; } 2>"$TMP/time"; rc=$?
read -r real usr sys_ <"$TMP/time"
ms=$(python3 -c "print(int(float('$real') * 1000))")
cpu=$(python3 -c "print(int((float('$usr') + float('$sys_')) * 1000))")
diag "ban --file of 1,000,000 addresses: $ms ms wall, $cpu ms CPU (whole command: start, load, batched updates, exit); load average $(cut -d' ' -f1-3 /proc/loadavg)"
check "bulk load exits 0" test "$rc" = 0
# Judged on the command's own CPU time: wall time on a shared machine
# measures the other tenants too (2.5 s wall was seen under a load of 6).
check "bulk load of 1,000,000 addresses under 2 s of CPU ($cpu ms CPU, $ms ms wall)" test "$cpu" -lt 2000
n=$(X status | sed -n 's/^bans: [0-9]* IPv4, \([0-9]*\) IPv6.*/\1/p')
check "1,000,000 IPv6 bans in the map ($n)" test "$n" = 1000000
t0=$(date +%s%N)
X ban --file "$TMP/bulk.txt" --ttl 2h 2>/dev/null; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "re-arming the same 1,000,000 bans: $ms ms"
check "re-arming 1,000,000 bans keeps the count" test "$rc" = 0 -a "$(X status | sed -n 's/^bans: [0-9]* IPv4, \([0-9]*\) IPv6.*/\1/p')" = 1000000
check "flush after bulk" X flush
