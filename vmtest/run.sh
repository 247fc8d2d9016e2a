#!/bin/bash
# Run xdpban's BPF tests inside a QEMU VM on each installed Debian kernel.
#
#   vmtest/run.sh            boot every kernel, run the tests, print TAP lines
#   vmtest/run.sh --shell    boot the first kernel into an interactive shell
#
# Output: "ok - <kernel>: <test>" / "not ok - ..." per test and per kernel,
# the tests' own TAP lines relabelled the same way, everything else the guest
# printed as "# " diagnostics. Exit status 0 only when every line is "ok".
#
# Environment (all optional):
#   BUILD=dir             build folder with xdpban and the test binaries (build)
#   KERNELS="..."         kernel versions (6.1.0-56-amd64) or vmlinuz paths; a path
#                         X/boot/vmlinuz-V takes its modules from X/lib/modules/V.
#                         Default: every /boot/vmlinuz-V >= 6.1 with /lib/modules/V.
#   VMTEST_TESTS="..."    what runs in the guest, in order: *.sh are scripts
#                         relative to the source tree, anything else Criterion
#                         binaries relative to $BUILD; globs allowed.
#   VMTEST_MODULES="..."  modules loaded at boot, dependencies included (veth 8021q)
#   VMTEST_ACCEL=kvm|tcg  skip the KVM probe
#   VMTEST_TIMEOUT=s      limit per guest boot (default: 540 s shared by the
#                         kernels, 120..420 s each, so that make check's 600 s
#                         limit for the whole run holds)
#   VMTEST_TEST_TIMEOUT=s limit per test inside the guest (180)
#   VMTEST_BOOT_TIMEOUT=s limit for reaching /init (60 under KVM, 150 under TCG)
#   VMTEST_SHELL=1        same as --shell
set -u
set -o pipefail

VMDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$VMDIR/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export BUILD
OUT=$BUILD/vmtest

TESTS=${VMTEST_TESTS:-"vmtest/test_guest_env.sh tests/test_xdp* tests/net/test_dataplane.sh"}
MODULES=${VMTEST_MODULES:-"veth 8021q"}
VM_TIMEOUT=${VMTEST_TIMEOUT:-}
TEST_TIMEOUT=${VMTEST_TEST_TIMEOUT:-180}
SHELL_MODE=${VMTEST_SHELL:-0}

usage() { sed -n '2,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0"; }

for a in "$@"; do
	case $a in
	--shell) SHELL_MODE=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "vmtest: unknown argument '$a'" >&2; usage >&2; exit 2 ;;
	esac
done

FAILS=0 OKS=0
ok()     { echo "ok - $*"; OKS=$((OKS + 1)); }
not_ok() { echo "not ok - $*"; FAILS=$((FAILS + 1)); }
diag()   { echo "# $*"; }
# bail REASON: a failure that stops everything, still as a TAP line.
bail()   { not_ok "vmtest: $*"; exit 1; }

for t in qemu-system-x86_64 cpio busybox modprobe ldd timeout flock; do
	command -v "$t" >/dev/null 2>&1 || bail "$t not found (make deps installs it)"
done
mkdir -p "$OUT" || bail "cannot create $OUT"
# One run per build folder: the logs and initramfs parts live there.
exec 9>"$OUT/lock"
flock -n 9 || bail "another vmtest run is using $OUT"

# --- kernels ----------------------------------------------------------------

# Lines "VERSION VMLINUZ MODROOT" for the kernels to test.
list_kernels() {
	local k v root
	if [ -n "${KERNELS:-}" ]; then
		for k in ${KERNELS//,/ }; do
			case $k in
			*/*)
				v=$(basename "$k")
				v=${v#vmlinuz-}
				root=$(cd "$(dirname "$k")/.." && pwd)
				[ -d "$root/lib/modules/$v" ] || root=/
				echo "$v $k $root" ;;
			*)
				echo "$k /boot/vmlinuz-$k /" ;;
			esac
		done
		return
	fi
	for k in /boot/vmlinuz-*; do
		[ -f "$k" ] || continue
		v=${k#/boot/vmlinuz-}
		[ -d "/lib/modules/$v" ] || continue
		# Keep 6.1 and later: the oldest kernel xdpban supports.
		[ "$(printf '%s\n' 6.1 "$v" | sort -V | head -1)" = 6.1 ] || continue
		echo "$v $k /"
	done
}

# --- accelerator ------------------------------------------------------------

# /dev/kvm can exist without working (no vmx/svm, nested quirks: SeaBIOS runs
# but the kernel stalls after its real-mode setup). So the probe boots the
# first kernel to test, without an initramfs, and waits for its banner on the
# early console; a working KVM prints it well within a second. -cpu host can
# abort on MSRs a nested host refuses, so a plainer model is tried next.
probe_kvm() {
	local vmlinuz=$1 cpu f pid
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	for cpu in host kvm64; do
		f=$OUT/kvm-probe.log
		rm -f "$f"
		qemu-system-x86_64 -accel kvm -cpu "$cpu" -m 256M -nodefaults -no-reboot \
			-display none -kernel "$vmlinuz" -serial file:"$f" \
			-append "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" \
			</dev/null >/dev/null 2>&1 &
		pid=$!
		for _ in $(seq 50); do
			grep -qs "Linux version" "$f" && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if grep -qs "Linux version" "$f"; then
			echo "$cpu"
			return 0
		fi
	done
	return 1
}

accel_args() {
	case $1 in
	kvm) echo "-accel kvm -cpu $KVM_CPU" ;;
	*)   echo "-accel tcg,thread=multi -cpu max" ;;
	esac
}

# --- initramfs --------------------------------------------------------------

# stamp FILE...: a fingerprint of files (path, size, mtime) to detect changes.
stamp() {
	local f
	for f in "$@"; do
		f=$(readlink -f "$f") && stat -c '%n %s %Y' "$f"
	done
}

# System part: rebuilt only when busybox, a host tool or the builder changed.
build_system_part() {
	local st
	# shellcheck disable=SC2046
	st=$(stamp $("$VMDIR/mkinitramfs.sh" inputs) "$VMDIR/mkinitramfs.sh") || return 1
	if [ -f "$OUT/system.cpio" ] && [ "$st" = "$(cat "$OUT/system.stamp" 2>/dev/null)" ]; then
		return 0
	fi
	"$VMDIR/mkinitramfs.sh" system "$OUT/system.cpio" || return 1
	echo "$st" >"$OUT/system.stamp"
}

# Libraries of the project's programs: rebuilt when the list or a file changed.
build_libs_part() {
	local st
	# shellcheck disable=SC2046
	st=$(stamp $(cat "$OUT/project.cpio.libs")) || return 1
	if [ -f "$OUT/libs.cpio" ] && [ "$st" = "$(cat "$OUT/libs.stamp" 2>/dev/null)" ]; then
		return 0
	fi
	"$VMDIR/mkinitramfs.sh" libs "$OUT/libs.cpio" "$OUT/project.cpio.libs" || return 1
	echo "$st" >"$OUT/libs.stamp"
}

# Module part per kernel: rebuilt when the module list or modules.dep changed.
build_modules_part() {
	local v=$1 root=$2 out=$OUT/modules-$1.cpio st
	st=$(echo "$MODULES $root"; stamp "$root/lib/modules/$v/modules.dep" "$VMDIR/mkinitramfs.sh")
	if [ -f "$out" ] && [ "$st" = "$(cat "$out.stamp" 2>/dev/null)" ]; then
		return 0
	fi
	# shellcheck disable=SC2086
	"$VMDIR/mkinitramfs.sh" modules "$out" "$v" "$root" $MODULES || return 1
	echo "$st" >"$out.stamp"
}

# Expand VMTEST_TESTS into $OUT/tests ("crit PATH" / "sh PATH") and MISSING.
MISSING=()
resolve_tests() {
	local p m found pats
	: >"$OUT/tests"
	# Split without globbing here: each pattern is matched in its own folder.
	read -r -a pats <<<"$TESTS"
	for p in "${pats[@]}"; do
		found=0
		case $p in
		*.sh)
			for m in $(cd "$TOP" && compgen -G "$p"); do
				echo "sh $m" >>"$OUT/tests"; found=1
			done ;;
		*)
			for m in $(cd "$BUILD" && compgen -G "$p"); do
				case $m in *.d|*.o) continue ;; esac
				[ -x "$BUILD/$m" ] || continue
				echo "crit $m" >>"$OUT/tests"; found=1
			done ;;
		esac
		[ "$found" = 1 ] || MISSING+=("$p")
	done
}

# --- one guest --------------------------------------------------------------

# Kernel log lines that mean the kernel is unwell.
OOPS_RE='(WARNING: CPU: [0-9]+ PID|BUG: |Oops|kernel BUG at|Kernel panic|general protection fault|UBSAN: |KASAN: |RCU detected stall|INFO: task .* blocked for|Call Trace:)'

# boot VERSION VMLINUZ INITRD ACCEL: run the guest; sets QEMU_RC, NONCE,
# USED_ACCEL and STALLED (seconds waited for /init in vain, or 0).
boot() {
	local v=$1 vmlinuz=$2 initrd=$3 acc=$4 dir=$OUT/$1 cmdline
	USED_ACCEL=$acc
	NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	cmdline="console=ttyS0 panic=-1 loglevel=5 vmtest.nonce=$NONCE vmtest.timeout=$TEST_TIMEOUT"
	rm -f "$dir/console.log" "$dir/results.log"
	if [ "$SHELL_MODE" = 1 ]; then
		# Console and monitor share stdio: Ctrl-A x quits, Ctrl-A c the monitor.
		# shellcheck disable=SC2046
		qemu-system-x86_64 $(accel_args "$acc") -m 1G -smp 2 -nodefaults -no-reboot \
			-display none -kernel "$vmlinuz" -initrd "$initrd" \
			-append "$cmdline vmtest.shell=1" \
			-chardev stdio,id=con,mux=on,signal=off -serial chardev:con -mon chardev=con \
			-serial file:"$dir/results.log"
		QEMU_RC=$?
		return
	fi
	# shellcheck disable=SC2046
	timeout -k 5 "$VM_TIMEOUT" qemu-system-x86_64 $(accel_args "$acc") -m 1G -smp 2 \
		-nodefaults -no-reboot -display none -kernel "$vmlinuz" -initrd "$initrd" \
		-append "$cmdline" \
		-serial file:"$dir/console.log" -serial file:"$dir/results.log" \
		</dev/null >"$dir/qemu.log" 2>&1 &
	local qpid=$! limit waited=0
	# A kernel that never reaches /init (a KVM that stalls, a broken image)
	# is given up early instead of at the full limit.
	limit=${VMTEST_BOOT_TIMEOUT:-$([ "$acc" = kvm ] && echo 60 || echo 150)}
	STALLED=0
	while kill -0 "$qpid" 2>/dev/null; do
		grep -qs "VMTEST $NONCE status" "$dir/results.log" && break
		if [ "$waited" -ge "$limit" ]; then
			STALLED=$limit
			kill "$qpid" 2>/dev/null
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$qpid"
	QEMU_RC=$?
}

# report VERSION SECONDS: turn the guest's logs into TAP lines.
report() {
	local v=$1 secs=$2 dir=$OUT/$1 line cur="" section=test status name rc s rest
	local -A done_tests=()
	# Missing logs (qemu did not start) read as empty.
	{ tr -d '\r' <"$dir/results.log"; } 2>/dev/null >"$dir/results.txt"
	{ tr -d '\r' <"$dir/console.log"; } 2>/dev/null >"$dir/console.txt"
	: >"$dir/dmesg.txt"
	status=$(sed -n "s/^VMTEST $NONCE status \([0-9]*\)\$/\1/p" "$dir/results.txt" | tail -1)
	while IFS= read -r line; do
		case $line in
		"VMTEST $NONCE begin "*)
			cur=${line#"VMTEST $NONCE begin "} ;;
		"VMTEST $NONCE end "*)
			read -r name rc s <<<"${line#"VMTEST $NONCE end "}"
			done_tests[$name]=1
			if [ "$rc" = 0 ]; then
				ok "$v: $name (${s}s)"
			else
				not_ok "$v: $name (exit $rc$([ "$rc" = 124 ] && echo ", timed out"), ${s}s)"
			fi
			cur="" ;;
		"VMTEST $NONCE dmesg") section=dmesg ;;
		"VMTEST $NONCE dmesg-end") section="test" ;;
		"VMTEST $NONCE "*) ;;
		*)
			if [ "$section" = dmesg ]; then
				echo "$line" >>"$dir/dmesg.txt"
				continue
			fi
			# The test's own TAP lines become per-kernel lines; inner failures
			# also fail the test's exit status, so they count once more.
			if [[ $line =~ ^(not ok|ok)( [0-9]+)?( -)?\ (.*)$ ]]; then
				rest=${BASH_REMATCH[4]}
				if [ "${BASH_REMATCH[1]}" = ok ]; then
					ok "$v: ${cur:-guest}: $rest"
				else
					not_ok "$v: ${cur:-guest}: $rest"
				fi
			elif [[ $line =~ ^[0-9]+\.\.[0-9]+$ || $line == "TAP version"* ]]; then
				:
			elif [[ $line == "#"* ]]; then
				echo "$line"
			else
				diag "$line"
			fi ;;
		esac
	done <"$dir/results.txt"

	# Tests that never ended: the guest died or hung while running them.
	while read -r _ rel; do
		name=${rel##*/}
		[ -n "${done_tests[$name]:-}" ] || not_ok "$v: $name (never finished: the guest died or hung)"
	done <"$OUT/tests"

	if grep -a -E "$OOPS_RE" "$dir/console.txt" "$dir/dmesg.txt" >"$dir/oops.txt"; then
		not_ok "$v: kernel log free of oops/BUG/WARN"
		head -40 "$dir/oops.txt" | while IFS= read -r line; do diag "$line"; done
	else
		ok "$v: kernel log free of oops/BUG/WARN"
	fi

	if [ "$STALLED" != 0 ]; then
		not_ok "$v: guest reached /init within ${STALLED}s"
	elif [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
		not_ok "$v: guest finished within ${VM_TIMEOUT}s (killed after ${secs}s)"
	fi
	if [ "${status:-}" = 0 ]; then
		ok "$v: guest exit status 0 (${secs}s)"
	else
		not_ok "$v: guest exit status ${status:-missing} (qemu $QEMU_RC, ${secs}s, logs in $dir)"
		diag "last console lines:"
		tail -20 "$dir/console.txt" | while IFS= read -r line; do diag "  $line"; done
		[ -s "$dir/qemu.log" ] && while IFS= read -r line; do diag "  qemu: $line"; done <"$dir/qemu.log"
	fi
}

# --- main -------------------------------------------------------------------

mapfile -t KLIST < <(list_kernels)
[ ${#KLIST[@]} -gt 0 ] || bail "no kernel found (apt-get install linux-image-amd64, or set KERNELS)"
if [ -z "$VM_TIMEOUT" ]; then
	VM_TIMEOUT=$((540 / ${#KLIST[@]}))
	[ "$VM_TIMEOUT" -gt 420 ] && VM_TIMEOUT=420
	[ "$VM_TIMEOUT" -lt 120 ] && VM_TIMEOUT=120
fi
# A hung test must leave the guest time to report the others.
[ "$TEST_TIMEOUT" -lt "$VM_TIMEOUT" ] || TEST_TIMEOUT=$((VM_TIMEOUT * 2 / 3))

if [ -n "${VMTEST_ACCEL:-}" ]; then
	ACCEL=$VMTEST_ACCEL
	KVM_CPU=${VMTEST_KVM_CPU:-host}
elif read -r _ first_vmlinuz _ <<<"${KLIST[0]}" && KVM_CPU=$(probe_kvm "$first_vmlinuz"); then
	ACCEL=kvm
else
	ACCEL=tcg
fi
diag "accelerator: $ACCEL$([ "$ACCEL" = kvm ] && echo " (-cpu $KVM_CPU)"), kernels: ${#KLIST[@]}"

build_system_part || bail "building the system part of the initramfs failed"
resolve_tests
"$VMDIR/mkinitramfs.sh" project "$OUT/project.cpio" "$OUT/tests" "$OUT/system.cpio.files" ||
	bail "building the project part of the initramfs failed"
build_libs_part || bail "building the libraries part of the initramfs failed"

total_start=$SECONDS
SUMMARY=()
for k in "${KLIST[@]}"; do
	oks0=$OKS fails0=$FAILS
	read -r v vmlinuz root <<<"$k"
	if [ ! -r "$vmlinuz" ]; then
		not_ok "$v: kernel image $vmlinuz not readable"
		continue
	fi
	mkdir -p "$OUT/$v"
	if ! build_modules_part "$v" "$root"; then
		not_ok "$v: kernel modules ($MODULES) for the initramfs"
		continue
	fi
	cat "$OUT/system.cpio" "$OUT/libs.cpio" "$OUT/modules-$v.cpio" "$OUT/project.cpio" \
		>"$OUT/$v/initrd.cpio"
	for p in "${MISSING[@]}"; do
		not_ok "$v: $p (no such test built)"
	done
	[ "$SHELL_MODE" = 1 ] || diag "$v: booting ($ACCEL, limit ${VM_TIMEOUT}s)"
	start=$SECONDS
	boot "$v" "$vmlinuz" "$OUT/$v/initrd.cpio" "$ACCEL"
	[ "$SHELL_MODE" = 1 ] && exit "$QEMU_RC"
	# A KVM that probes fine can still fail on the real kernel: if the guest
	# never reached /init, try once more under TCG.
	if [ "$ACCEL" = kvm ] && ! grep -qs "VMTEST $NONCE status" "$OUT/$v/results.log"; then
		diag "$v: /init not reached under KVM (qemu $QEMU_RC), retrying with TCG"
		start=$SECONDS
		boot "$v" "$vmlinuz" "$OUT/$v/initrd.cpio" tcg
	fi
	report "$v" $((SECONDS - start))
	SUMMARY+=("$v ($USED_ACCEL): $((OKS - oks0)) ok, $((FAILS - fails0)) not ok, $((SECONDS - start))s")
done
for line in "${SUMMARY[@]}"; do diag "$line"; done
diag "total ${SECONDS}s for ${#KLIST[@]} kernel(s), vm time $((SECONDS - total_start))s"

[ "$FAILS" = 0 ]
