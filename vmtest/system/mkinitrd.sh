#!/bin/bash
# A small initramfs for the systemd guest: busybox loads the disk's modules
# (virtio, ext4) of Debian kernel KVER, mounts /dev/vda and hands over to
# systemd. The host's own initrd would do, but unpacking its hundreds of
# modules costs ~20 s under TCG at every boot.
#   mkinitrd.sh OUT.cpio KVER
set -euo pipefail
out=$1 kver=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/bin" "$tmp/lib/modules" "$tmp/dev" "$tmp/proc" "$tmp/sys" "$tmp/newroot"
cp /bin/busybox "$tmp/bin/busybox"
# In dependency order, each once.
modprobe -a -S "$kver" --show-depends virtio_pci virtio_blk ext4 |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r m; do
	cp "$m" "$tmp/lib/modules/"
	echo "${m##*/}" >>"$tmp/lib/modules/order"
done
cat >"$tmp/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m" 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
	echo "initrd: cannot mount /dev/vda" >&2
	poweroff -f
fi
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
INIT
chmod +x "$tmp/init"
(cd "$tmp" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
