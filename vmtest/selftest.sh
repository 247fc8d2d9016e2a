#!/bin/bash
# Check that vmtest/run.sh fails the way it should: one guest runs a failing
# test that forges a status line, a test that hangs, then crashes its kernel.
# Expected: each of those is "not ok", the test after the crash never ran,
# the panic is found in the kernel log, the status stays the sentinel, and
# run.sh exits non-zero. About 30 s under TCG.
#   BUILD=build vmtest/selftest.sh
set -u
VMDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

VMTEST_TESTS="vmtest/inject/fail.sh vmtest/inject/hang.sh vmtest/inject/crash.sh tests/test_addr" \
VMTEST_TEST_TIMEOUT=5 "$VMDIR/run.sh" >"$out" 2>&1
rc=$?
fails=0
expect() { # expect NAME REGEX: a line of run.sh's output matches
	if grep -qE "$2" "$out"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails + 1)); fi
}
if [ "$rc" != 0 ]; then
	echo "ok - run.sh exits non-zero ($rc)"
else
	echo "not ok - run.sh exits non-zero"
	fails=$((fails + 1))
fi
expect "inner TAP lines are relabelled" '^ok - [^:]+: fail\.sh: a passing check$'
expect "inner failures are not ok" '^not ok - [^:]+: fail\.sh: a failing check$'
expect "failing test is not ok" '^not ok - [^:]+: fail\.sh \(exit 3,'
expect "hanging test is stopped" '^not ok - [^:]+: hang\.sh \(exit 124, timed out,'
expect "crashing test never finished" '^not ok - [^:]+: crash\.sh \(never finished'
expect "test after the crash never ran" '^not ok - [^:]+: test_addr \(never finished'
expect "panic found in the kernel log" '^not ok - [^:]+: kernel log free of oops'
expect "forged status ignored, sentinel stays" '^not ok - [^:]+: guest exit status 255'
if [ "$fails" != 0 ]; then
	echo "# run.sh output:"
	sed 's/^/#   /' "$out"
fi
[ "$fails" = 0 ]
