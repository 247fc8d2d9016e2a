#!/bin/bash
# xdpban logtest at the CLI: JSON Lines, correlation from the lines' own
# timestamps, local overwrite, gzip, stdin, bare messages, injection, errors
# and exit codes, and the default rules directory. No network needed.
. "$(dirname "$0")/lib.sh"

DATA=$TOP/tests/data
LOG=$DATA/auth-bruteforce.log
tmp=$(mktemp -d /tmp/xdpban-det-logtest.XXXXXX)
on_exit "rm -rf '$tmp'"

[ -x "$XDPBAN" ] || { not_ok "xdpban built at $XDPBAN"; exit 1; }

"$XDPBAN" logtest --json --rules "$TOP/rules" "$LOG" >"$tmp/out.json" 2>"$tmp/err"
check "logtest --json exits 0" test $? = 0
check "summary on stderr counts lines" grep -q 'lines read: 33, decoded as sshd: 30' "$tmp/err"
check "undecodable line counted, not fatal" grep -q 'not decodable: 1' "$tmp/err"
check "5712 fires on the 8th invalid-user line (line 15)" \
	grep -q '^{"line":15,"rule":5712,"level":10,.*"srcip":"198.18.0.10"' "$tmp/out.json"
check "5763 fires for IPv6 password guessing (line 33)" \
	grep -q '^{"line":33,"rule":5763,"level":10,.*"srcip":"2001:db8:5::7".*"program":"sshd-session"' "$tmp/out.json"
check_fails "injected address never becomes srcip" grep -q '"srcip":"203.0.113' "$tmp/out.json"
check "injected line attributed to sshd's own address" \
	grep -q '^{"line":3,"rule":5710,.*"srcip":"198.18.0.20".*"user":"root from 203.0.113.9 port 22"' "$tmp/out.json"
check_fails "logger's line is not sshd" grep -q '"line":7,' "$tmp/out.json"
check_fails "level-0 lines are not printed" grep -q '"level":0' "$tmp/out.json"
if command -v python3 >/dev/null; then
	check "every output line is JSON" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert {"line", "rule", "level", "program"} <= o.keys(), o
' "$tmp/out.json"
fi

"$XDPBAN" logtest --json --rules "$TOP/rules" --local-rules "$DATA/local-5712-freq5.xml" "$LOG" >"$tmp/local.json" 2>/dev/null
check "local overwrite: 5712 at frequency 5 fires on line 12" \
	grep -q '^{"line":12,"rule":5712,"level":10' "$tmp/local.json"

gzip -c "$LOG" >"$tmp/auth.log.2.gz"
"$XDPBAN" logtest --json --rules "$TOP/rules" "$tmp/auth.log.2.gz" >"$tmp/gz.json" 2>/dev/null
check "gzip replay gives the same result" cmp -s "$tmp/out.json" "$tmp/gz.json"
"$XDPBAN" logtest --json --rules "$TOP/rules" - <"$LOG" >"$tmp/stdin.json" 2>/dev/null
check "stdin gives the same result" cmp -s "$tmp/out.json" "$tmp/stdin.json"

"$XDPBAN" logtest --json --rules "$TOP/rules" "$DATA/journal-cat.log" >"$tmp/bare.json" 2>"$tmp/bare.err"
check "bare messages (journalctl -o cat) decode" grep -q 'bare messages: 4' "$tmp/bare.err"
check "bare message alert has srcip" grep -q '"rule":5706,.*"srcip":"2001:db8::99"' "$tmp/bare.json"

"$XDPBAN" logtest --rules "$TOP/rules" "$LOG" >"$tmp/text" 2>/dev/null
check "text output shows decoded fields and rule" \
	grep -q 'kind=invalid_user srcip=198.18.0.10 port=40004' "$tmp/text"
check "text output shows the rule" grep -q 'rule 5712 level 10' "$tmp/text"

"$XDPBAN" logtest --rules "$TOP/rules" --local-rules "$DATA/bad-rule.xml" "$LOG" >/dev/null 2>"$tmp/bad.err"
rc=$?
check "unknown element: exit 2" test "$rc" = 2
check "unknown element: error names file and line" grep -q 'bad-rule.xml:4: rule 100001: unknown element <matchh>' "$tmp/bad.err"
"$XDPBAN" logtest --rules "$TOP/rules" "$tmp/missing.log" >/dev/null 2>&1
check "missing input: exit 3" test $? = 3
# correlation state too big to allocate (256 stamps x 16M sources = 32 GiB):
# said, not a silent exit 1 (only where the kernel refuses such an allocation)
if [ "$(cat /proc/sys/vm/overcommit_memory)" != 1 ]; then
	printf '<group name="l,"><rule id="100001" level="10" frequency="256"><if_matched_sid>5716</if_matched_sid><same_source_ip/></rule></group>\n' >"$tmp/f256.xml"
	"$XDPBAN" logtest --rules "$TOP/rules" --local-rules "$tmp/f256.xml" --max-sources 16777216 "$LOG" >/dev/null 2>"$tmp/nomem.err"
	check "correlation state too big: exit 1 with a message" \
		test $? = 1 -a -n "$(grep 'correlation state for 16777216 sources' "$tmp/nomem.err")"
fi
"$XDPBAN" logtest --bogus >/dev/null 2>&1
check "bad option: exit 2" test $? = 2

# default rules directory: found next to the binary from any cwd, or via the env
(cd / && "$XDPBAN" logtest --json "$LOG" >"$tmp/def.json" 2>/dev/null)
check "default rules dir (../rules next to the binary)" cmp -s "$tmp/out.json" "$tmp/def.json"
mkdir "$tmp/rules" && cp "$TOP/rules/"*.xml "$tmp/rules/" && cp "$DATA/local-5712-freq5.xml" "$tmp/rules/zz-local.xml"
XDPBAN_RULES_DIR=$tmp/rules "$XDPBAN" logtest --json "$LOG" >"$tmp/env.json" 2>/dev/null
check "XDPBAN_RULES_DIR is used" grep -q '^{"line":12,"rule":5712' "$tmp/env.json"

# throughput smoke test: 100k generated lines, every line read
"$TOP/scripts/gen-sshd-log.sh" 100000 1000 7 >"$tmp/gen.log"
"$XDPBAN" logtest --quiet --rules "$TOP/rules" "$tmp/gen.log" 2>"$tmp/gen.err"
check "100k generated lines read and decoded" grep -q 'lines read: 100000,.*not decodable: 0' "$tmp/gen.err"

# what OpenSSH 9.2's sshd -E writes (bare messages, captured from a real sshd)
"$XDPBAN" logtest --json --rules "$TOP/rules" "$DATA/sshd-9.2-E.log" >"$tmp/e.json" 2>"$tmp/e.err"
check "sshd -E output: 7 of 9 lines decoded" grep -q 'lines read: 9, decoded as sshd: 7 (bare messages: 7)' "$tmp/e.err"
# (as in Wazuh, "Connection closed by invalid user" is 5710; the valid
# user's preauth close is xdpban's 190001; the banner probe 190005)
check "sshd -E output: invalid user, password failure, preauth closes, banner probe" \
	test "$(grep -c '"srcip":"198.18.7.' "$tmp/e.json")" = 6 -a "$(grep -c '"rule":190005,' "$tmp/e.json")" = 1 \
	-a "$(grep -c '"rule":190001,' "$tmp/e.json")" = 1
"$XDPBAN" logtest --json --all --rules "$TOP/rules" "$DATA/sshd-9.2-E.log" >"$tmp/ea.json" 2>/dev/null
check "logtest --all --json: one object per line, level 0 included" \
	test "$(grep -c '^{' "$tmp/ea.json")" = 9 -a "$(grep -c '"rule":null,' "$tmp/ea.json")" = 2
echo 'Nov 28 07:01:08 h sshd[9]: Connection closed by 198.18.7.3 port 1 [preauth]' |
	"$XDPBAN" logtest --json --all --rules "$TOP/rules" - >"$tmp/l0.json" 2>/dev/null
check "logtest --all --json shows level-0 matches (5722)" grep -q '"rule":5722,"level":0,' "$tmp/l0.json"
