#!/bin/bash
# Build the systemd guest's root filesystem image from Debian packages.
#
#   mkrootfs.sh IMAGE KVER PUBKEY
#
# mmdebstrap installs bookworm with the packages of packages.txt from the
# host's Debian mirror; customize.sh then adds what the test needs (kernel
# modules of the host's Debian kernel package KVER, network, sshd settings,
# root's authorized key PUBKEY, an unprivileged user). The tree becomes an
# ext4 image with mke2fs -d: no loop device, no mount.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
img=$1 kver=$2 pubkey=$3
work=$img.d

mirror() {      # the host's Debian mirror, from its apt sources
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null | grep -E '^(URIs:|deb )' |
		grep -o 'https\?://[^ ]*/debian/\?$' | head -1)
	echo "${m:-http://deb.debian.org/debian}"
}

# A killed mmdebstrap can leave its mounts (proc) in the tree: off first.
unmount_work() {
	findmnt -rn -o TARGET | awk -v w="$work" 'index($0, w "/") == 1' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}
unmount_work
rm -rf "$work" "$img.tmp"
trap 'unmount_work; rm -rf "$work" "$img.tmp"' EXIT
pkgs=$(grep -v -e '^#' -e '^$' "$here/packages.txt" | paste -sd, -)${DEB_DEPS:+,$DEB_DEPS}
# unsafe-io: the tree is thrown away on failure anyway, and fsyncs are most of the time.
mmdebstrap --quiet --variant=minbase --dpkgopt=force-unsafe-io --aptopt='Acquire::Languages "none"' --include="$pkgs" \
	--customize-hook="'$here/customize.sh' \"\$1\" '$kver' '$pubkey'" \
	bookworm "$work" "$(mirror)"
# 1.5 GiB: the system takes ~300 MiB; room for the journal and the database.
mke2fs -q -t ext4 -L xbroot -d "$work" "$img.tmp" 1536M
mv "$img.tmp" "$img"
