#!/bin/bash
# Run the test suites and print one closing line: "N passed, N failed".
#   check.sh all|layout|unit|san|fuzz|net|e2e|vm|deploy|vmsys
# layout: tests/layout/*.sh, the include rule of the tree (scripts/check-layout.sh);
# unit: Criterion binaries (plain); san: the same under ASan+UBSan;
# fuzz: each libFuzzer target ($BUILD/fuzz/fuzz_*, `make fuzz`) for
#       FUZZ_SECONDS (default 10); a crash's input is kept in $BUILD/fuzz/crashes/;
# net:  tests/net/*.sh, real traffic between namespaces (root);
# e2e:  tests/e2e/*.sh, the lab with real OpenSSH (root);
# vm:   vmtest/run.sh, the BPF tests on Debian's stock kernel under QEMU;
# deploy: tests/deploy/*.sh, the Debian package (make deb, lintian, contents);
# vmsys: vmtest/system/run.sh, the package in a Debian 12 guest booting systemd
#       (needs the .deb: the deploy suite or make deb builds it).
# Shell tests print TAP-style "ok - name" / "not ok - name" lines.
#
# Skips (Criterion's cr_skip_test, a shell test's "ok - name # SKIP") are
# counted and listed. Every dependency comes from scripts/deps.sh, so a test
# that does not run here is a failure, unless its "suite file: test: reason"
# matches a pattern in CHECK_ALLOW_SKIP (shell patterns separated by spaces),
# e.g. CHECK_ALLOW_SKIP='*systemd-journal-remote*'.
set -u
BUILD=${BUILD:-build}
what=${1:-all}
passed=0 failed=0 skipped=0
failures=() skips=()
log_dir=$BUILD/test-logs
mkdir -p "$log_dir"

# note_skips WHAT TAP: count and keep the "ok - NAME # SKIP [REASON]" lines
# of TAP output as "WHAT: NAME[: REASON]".
note_skips() {
	local what=$1 tap=$2 line

	while IFS= read -r line; do
		skips+=("$what: $line")
		skipped=$((skipped + 1))
	done < <(grep -a '^ok .*# SKIP' "$tap" 2>/dev/null |
		sed -e 's/^ok - //' -e 's/ *# SKIP *$//' -e 's/ *# SKIP */: /')
}

# Criterion's closing line: "[====] Synthesis: Tested: 12 | Passing: 12 | Failing: 0 | Crashing: 0"
# It leaves skipped tests out (Tested counts only those that ran); its TAP
# report lists them: "ok - suite::name  # SKIP reason".
run_criterion() {
	local bin=$1 tag=$2 out rc line t p f c tap
	out=$log_dir/$tag-$(basename "$bin").log
	tap=$log_dir/$tag-$(basename "$bin").tap
	echo "== $tag $(basename "$bin")"
	rm -f "$tap"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		timeout 600 "$bin" --jobs 1 --short-filename --tap="$tap" >"$out" 2>&1
	rc=$?
	note_skips "$tag $(basename "$bin")" "$tap"
	line=$(grep -a 'Synthesis:' "$out" | tail -1)
	t=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line")
	p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
	f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
	c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" != 0 ] || [ -z "$line" ] || [ "${f:-1}" != 0 ] || [ "${c:-1}" != 0 ]; then
		[ -z "$line" ] && failed=$((failed + 1))
		failures+=("$tag $(basename "$bin") (rc=$rc, log $out)")
		grep -a -E '\[(FAIL|----)\]|ERROR|runtime error|LeakSanitizer|AddressSanitizer' "$out" | head -40
	fi
	echo "${line:-no synthesis line (rc=$rc)}"
}

run_script() {
	local s=$1 tag=$2 out rc ok nok sk t0=$SECONDS
	out=$log_dir/$tag-$(basename "$s").log
	echo "== $tag $s"
	BUILD=$BUILD timeout "${TEST_TIMEOUT:-600}" bash "$s" >"$out" 2>&1 </dev/null
	rc=$?
	ok=$(grep -a -c '^ok ' "$out")
	nok=$(grep -a -c '^not ok ' "$out")
	sk=$(grep -a -c '^ok .*# SKIP' "$out")
	grep -a -E '^(ok|not ok) ' "$out"
	# Where the 25 minutes go.
	echo "# $tag $s: $((SECONDS - t0)) s"
	passed=$((passed + ok - sk))
	note_skips "$tag $s" "$out"
	failed=$((failed + nok))
	if [ "$rc" != 0 ] || [ "$nok" != 0 ] || [ "$ok" = 0 ]; then
		[ "$nok" = 0 ] && failed=$((failed + 1))
		failures+=("$tag $s (rc=$rc, log $out)")
		tail -30 "$out"
	fi
}

# libFuzzer's closing stats: "stat::number_of_executed_units: 123456"
run_fuzzer() {
	local bin=$1 name=${1##*/fuzz_} secs=${FUZZ_SECONDS:-10} out rc runs dict=() corpus
	out=$log_dir/fuzz-$name.log
	corpus=$BUILD/fuzz/corpus/$name       # what it finds; the tree's seeds stay as they are
	mkdir -p "$corpus" "$BUILD/fuzz/crashes"
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	echo "== fuzz $name (${secs}s)"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		timeout $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		"${dict[@]}" -artifact_prefix="$BUILD/fuzz/crashes/$name-" \
		"$corpus" "tests/fuzz/seeds/$name" >"$out" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$out" | tail -1)
	if [ "$rc" = 0 ] && [ -n "$runs" ]; then
		echo "ok - fuzz: $name: $runs runs, no crash"
		passed=$((passed + 1))
	else
		echo "not ok - fuzz: $name: rc=$rc, reproducer in $BUILD/fuzz/crashes/, log $out"
		grep -a -E 'ERROR|runtime error|does not hold|fuzz_[a-z_]*:|^artifact_prefix|Test unit written' "$out" | head -20
		failed=$((failed + 1))
		failures+=("fuzz $name (rc=$rc, log $out)")
	fi
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "$1 tests need root (BPF, netns): run 'sudo make check'" >&2
		failed=$((failed + 1))
		failures+=("$1: not root")
		return 1
	fi
}

case $what in all|layout)
	for s in tests/layout/test_*.sh; do
		[ -f "$s" ] && run_script "$s" layout
	done ;;
esac
case $what in all|ruleset)
	for s in tests/ruleset/test_*.sh; do
		[ -f "$s" ] && run_script "$s" ruleset
	done ;;
esac
case $what in all|unit)
	need_root unit && for t in "$BUILD"/tests/test_*; do
		case $t in *.d) continue ;; esac
		[ -x "$t" ] && run_criterion "$t" unit
	done ;;
esac
case $what in all|san)
	need_root san && for t in "$BUILD"/san/tests/test_*; do
		case $t in *.d) continue ;; esac
		[ -x "$t" ] && run_criterion "$t" san
	done ;;
esac
case $what in all|fuzz)
	for f in "$BUILD"/fuzz/fuzz_*; do
		case $f in *.d) continue ;; esac
		[ -x "$f" ] && run_fuzzer "$f"
	done ;;
esac
case $what in all|net)
	need_root net && for s in tests/net/test_*.sh; do
		[ -f "$s" ] && run_script "$s" net
	done ;;
esac
case $what in all|e2e)
	need_root e2e && for s in tests/e2e/test_*.sh; do
		[ -f "$s" ] && run_script "$s" e2e
	done ;;
esac
case $what in all|vm)
	if [ -x vmtest/run.sh ] && [ "${SKIP_VMTEST:-0}" != 1 ]; then
		need_root vm && run_script vmtest/run.sh vm
	fi ;;
esac
case $what in all|deploy)
	for s in tests/deploy/test_*.sh; do
		[ -f "$s" ] && run_script "$s" deploy
	done ;;
esac
case $what in all|vmsys)
	if [ "${SKIP_VMTEST:-0}" != 1 ]; then
		# Its own limits: 420 s for the root filesystem, 600 s for the guest;
		# VMSYS_BOUND=480 also checks its whole run against 8 minutes.
		need_root vmsys && TEST_TIMEOUT=1080 run_script vmtest/system/run.sh vmsys
	fi ;;
esac

# skip_allowed TEXT: does TEXT match a pattern of CHECK_ALLOW_SKIP?
skip_allowed() {
	local p

	for p in ${CHECK_ALLOW_SKIP:-}; do
		# shellcheck disable=SC2053 # p is a pattern
		[[ $1 == $p ]] && return 0
	done
	return 1
}

echo
allowed=0
set -f          # the patterns are for skip_allowed, not file names
for sk in "${skips[@]}"; do
	if skip_allowed "$sk"; then
		echo "skipped (allowed by CHECK_ALLOW_SKIP): $sk"
		allowed=$((allowed + 1))
	else
		echo "skipped: $sk"
		failures+=("skipped, not in CHECK_ALLOW_SKIP: $sk")
	fi
done
set +f
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed suites:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped ($allowed allowed)"
[ "$failed" = 0 ] && [ ${#failures[@]} = 0 ]
