#!/bin/bash
# vmtest self-test: crash the kernel. Guarded: only ever inside the vmtest guest.
if [ "${VMTEST_GUEST:-0}" != 1 ] || [ "$(hostname)" != vmtest ] ||
	! grep -q 'vmtest\.nonce=' /proc/cmdline; then
	echo "not ok - crash.sh refuses to run outside the vmtest guest"
	exit 1
fi
echo "ok - crashing the guest kernel"
echo c >/proc/sysrq-trigger
sleep 30
