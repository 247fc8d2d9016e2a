#!/bin/bash
# mmdebstrap's customize hook for the systemd guest (mkrootfs.sh):
#   customize.sh ROOT KVER PUBKEY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$1 kver=$2 pubkey=$3

echo xbguest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 xbguest\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 rw,noatime 0 1\n' >"$root/etc/fstab"
# Persistent journal: the cursor must resume across a reboot.
mkdir -p "$root/var/log/journal"

# The modules the guest loads after the initramfs (NIC, RNG) and what the
# initramfs loaded, from the host's package of the same kernel.
modprobe -a -S "$kver" --show-depends virtio_net virtio_blk virtio_pci virtio_rng ext4 |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r m; do
	install -D -m 0644 "$m" "$root/usr${m#/usr}"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	install -m 0644 "/lib/modules/$kver/$f" "$root/usr/lib/modules/$kver/$f"
done
depmod -b "$root" "$kver"

install -D -m 0644 "$here/guest/eth0.network" "$root/etc/systemd/network/10-eth0.network"
install -D -m 0644 "$here/guest/sshd.conf" "$root/etc/ssh/sshd_config.d/xdpban-test.conf"
install -D -m 0600 "$pubkey" "$root/root/.ssh/authorized_keys"
chroot "$root" useradd -m -s /bin/bash mallory
chroot "$root" systemctl enable systemd-networkd
# Nothing but the test at work during the test, and a shorter boot under
# TCG: no logind (no one logs in on a seat; sshd here has no pam_systemd), no
# filesystem scrubs, no timers, no gettys (the test logs in over ssh; the
# console is a log file): getty-static alone took 7.7 s of a boot under load.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer systemd-timesyncd.service systemd-logind.service \
	modprobe@drm.service modprobe@dm_mod.service getty.target getty-static.service >/dev/null 2>&1 || true
