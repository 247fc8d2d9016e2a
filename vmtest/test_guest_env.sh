#!/bin/bash
# Checks, inside the vmtest guest, what the traffic tests rely on: BTF, bpffs,
# network namespaces, veth and VLAN devices, ping and nc between namespaces.
# When one of these fails, a failing traffic test points at the harness, not at
# xdpban. Also runs on the host: BUILD=build bash vmtest/test_guest_env.sh
# shellcheck source-path=SCRIPTDIR source=../tests/net/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/net/lib.sh"
need_root

check "kernel BTF at /sys/kernel/btf/vmlinux" test -s /sys/kernel/btf/vmlinux
check "private bpffs pin dir" pin_dir_new env
check "bpffs is mounted at the pin dir" grep -q " $XDPBAN_PIN_DIR bpf " /proc/mounts

ns_add a && ns_add b
A=$(ns_name a) B=$(ns_name b)
check "veth pair between namespaces" veth "$A" va "$B" vb
addr "$A" va 198.18.0.1/24
addr "$B" vb 198.18.0.2/24
addr "$A" va 2001:db8::1/64
addr "$B" vb 2001:db8::2/64
check "ping over IPv4" wait_until 5 ping_ok "$A" 198.18.0.2
check "ping over IPv6" wait_until 5 ping_ok "$A" 2001:db8::2

# VLAN 100 on top of the veth pair (8021q module).
if ip -n "$A" link add link va name va.100 type vlan id 100 &&
	ip -n "$B" link add link vb name vb.100 type vlan id 100; then
	ok "VLAN devices"
	ip -n "$A" link set va.100 up
	ip -n "$B" link set vb.100 up
	addr "$A" va.100 198.19.0.1/24
	addr "$B" vb.100 198.19.0.2/24
	check "ping over a VLAN" wait_until 5 ping_ok "$A" 198.19.0.2
elif [ "${VMTEST_GUEST:-0}" = 1 ]; then
	not_ok "VLAN devices"
else
	skip "VLAN devices (no 8021q on this host)"
fi

# A bounded TCP listener in B; nc from A must connect.
ip netns exec "$B" timeout 20 nc -l -k 198.18.0.2 2222 >/dev/null 2>&1 &
bg_track $!
check "TCP between namespaces" wait_until 5 tcp_ok "$A" 198.18.0.2 2222
check_fails "TCP to a closed port fails" tcp_ok "$A" 198.18.0.2 2223 1

if [ -x "$XDPBAN" ]; then
	check "xdpban runs" "$XDPBAN" --version
else
	not_ok "xdpban built at $XDPBAN"
fi
