#!/bin/bash
# Build the pieces of the vmtest initramfs. The kernel accepts several
# uncompressed newc cpio archives concatenated, later files overriding earlier
# ones, so the image is assembled from parts with different lifetimes:
#
#   mkinitramfs.sh system  OUT.cpio            busybox, host tools, their libraries
#   mkinitramfs.sh modules OUT.cpio VER ROOT MODULE...  ROOT/lib/modules/VER modules + load order
#   mkinitramfs.sh project OUT.cpio TESTLIST [SYSTEM_FILES]
#                                              xdpban, test programs, scripts, /init;
#                                              their libraries listed in OUT.cpio.libs
#   mkinitramfs.sh libs OUT.cpio LIBLIST       those libraries
#   mkinitramfs.sh inputs                      host files the system part copies
#
# Archives stay uncompressed: decompressing under TCG costs more than copying.
# Every part is written to a temporary name and renamed only when complete.
set -eu
set -o pipefail

VMDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$VMDIR/.." && pwd)

die() { echo "mkinitramfs: $*" >&2; exit 1; }

# Real binaries copied from the host (with the libraries ldd lists). lib.sh
# relies on bash, iproute2's `ip netns`, iputils ping and OpenBSD nc; GNU
# versions of the text tools avoid busybox option differences in test scripts.
# Everything else comes from busybox applets.
HOST_BINS=${VMTEST_HOST_BINS:-"bash ip tc ss ping nc socat timeout bpftool ethtool bc
	mount umount grep sed awk sleep date stat xargs mktemp seq sort head tail cut tr
	wc env cat sysctl ps pgrep pkill jq"}
# Test scripts read JSON and craft frames with Debian's python3 (not whatever
# python3 comes first in PATH): the interpreter and its standard library
# without the parts no test needs.
PYTHON=${VMTEST_PYTHON:-/usr/bin/python3}
PY_EXCLUDES="config-* test idlelib tkinter turtledemo lib2to3 pydoc_data ensurepip
	distutils site-packages dist-packages"

# stage_dir: a fresh staging tree with the merged-/usr layout Debian uses.
stage_dir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/xdpban-vmtest.XXXXXX")
	mkdir -p "$d"/usr/bin "$d"/usr/sbin "$d"/usr/lib/x86_64-linux-gnu "$d"/usr/lib64
	ln -s usr/bin "$d"/bin
	ln -s usr/sbin "$d"/sbin
	ln -s usr/lib "$d"/lib
	ln -s usr/lib64 "$d"/lib64
	echo "$d"
}

# copy_file SRC DEST_ROOT: copy SRC (following symlinks) to the same path under
# DEST_ROOT. Paths under /bin, /lib... land in /usr through the stage symlinks.
copy_file() {
	local src=$1 root=$2
	mkdir -p "$root/$(dirname "$src")"
	cp -L --preserve=mode "$src" "$root/$src"
}

# list_libs ELF: the shared libraries and loader ELF needs, as /usr paths
# (directories resolved, file names kept: the loader looks up the soname).
list_libs() {
	local elf=$1 lib
	# Static binaries make ldd fail; they need nothing.
	ldd "$elf" >/dev/null 2>&1 || return 0
	ldd "$elf" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do
			echo "$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
		done
}

# copy_libs ELF DEST_ROOT: copy what list_libs ELF prints.
copy_libs() {
	local elf=$1 root=$2 lib
	while read -r lib; do
		[ -e "$root/$lib" ] || copy_file "$lib" "$root"
	done < <(list_libs "$elf")
}

# pack DIR OUT: DIR's contents as a newc archive owned by root.
pack() {
	local dir=$1 out=$2
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$out.tmp"
	mv "$out.tmp" "$out"
}

# copy_python DEST_ROOT: $PYTHON and its standard library, if the host has them.
copy_python() {
	local root=$1 real lib x excl=() so
	if [ ! -x "$PYTHON" ]; then
		echo "mkinitramfs: warning: no $PYTHON, tests that need python3 will fail" >&2
		return 0
	fi
	real=$(readlink -f "$PYTHON")
	lib=/usr/lib/$(basename "$real")
	[ -f "$lib/os.py" ] || die "no standard library at $lib for $real"
	cp --preserve=mode "$real" "$root/usr/bin/$(basename "$real")"
	ln -sf "$(basename "$real")" "$root/usr/bin/python3"
	copy_libs "$real" "$root"
	for x in $PY_EXCLUDES; do excl+=(--exclude="${lib#/}/$x"); done
	tar -C / "${excl[@]}" -cf - "${lib#/}" | tar -C "$root" -xf -
	for so in "$root$lib"/lib-dynload/*.so; do
		[ -e "$so" ] && copy_libs "$so" "$root"
	done
	return 0
}

build_system() {
	local out=$1 d b path a f
	d=$(stage_dir)
	trap 'rm -rf "$d"' EXIT
	path=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
	ldd "$path" >/dev/null 2>&1 && die "$path is dynamically linked; install busybox-static"
	cp "$path" "$d/usr/bin/busybox"
	# Applets first, real binaries then replace the ones we have.
	for a in $("$path" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$d/usr/bin/$a"
	done
	for b in $HOST_BINS; do
		path=$(command -v "$b" 2>/dev/null) || true
		case $path in
		/*) ;;
		*) echo "mkinitramfs: warning: $b not found on the host, using busybox's" >&2; continue ;;
		esac
		path=$(readlink -f "$path")
		rm -f "$d/usr/bin/$b"
		cp --preserve=mode "$path" "$d/usr/bin/$b"
		copy_libs "$path" "$d"
	done
	# Busybox's sh runs its own applets before PATH (so `sh -c "ip ..."` would
	# get busybox ip); Debian's sh is a POSIX shell that does not: use bash.
	ln -sf bash "$d/usr/bin/sh"
	copy_python "$d"
	mkdir -p "$d"/dev "$d"/proc "$d"/sys "$d"/tmp "$d"/run "$d"/root "$d"/etc "$d"/var
	ln -s ../run "$d"/var/run
	# The kernel opens /dev/console before /init runs: without the node, init
	# starts with no stdio.
	mknod -m 600 "$d/dev/console" c 5 1 2>/dev/null || true
	printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$d/etc/hosts"
	for f in /etc/protocols /etc/services; do
		[ -f "$f" ] && cp "$f" "$d$f"
	done
	pack "$d" "$out"
	# What the libs part need not carry again.
	(cd "$d" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort) >"$out.files"
	rm -rf "$d"
	trap - EXIT
}

build_modules() {
	local out=$1 ver=$2 modroot=$3 d m line path deps
	shift 3
	local moddir=${modroot%/}/lib/modules/$ver
	[ -d "$moddir" ] || die "no module directory $moddir"
	d=$(stage_dir)
	trap 'rm -rf "$d"' EXIT
	mkdir -p "$d/etc/vmtest" "$d/lib/modules/$ver"
	: >"$d/etc/vmtest/modules"
	for m in "$@"; do
		# modprobe prints dependencies first, in load order; "builtin" lines
		# need nothing. Module options from the host's modprobe.d are dropped.
		deps=$(modprobe -d "${modroot:-/}" -S "$ver" --show-depends "$m" 2>&1) ||
			die "module $m for $ver: $deps"
		while read -r line; do
			case $line in
			insmod\ *)
				path=${line#insmod }
				path=${path%% *}
				path=${path#*/lib/modules/"$ver"/}
				mkdir -p "$d/lib/modules/$ver/$(dirname "$path")"
				case $path in
				*.ko)     cp "$moddir/$path" "$d/lib/modules/$ver/$path" ;;
				*.ko.xz)  xz -dc "$moddir/$path" >"$d/lib/modules/$ver/${path%.xz}" ;;
				*.ko.zst) zstd -qdc "$moddir/$path" >"$d/lib/modules/$ver/${path%.zst}" ;;
				*.ko.gz)  gzip -dc "$moddir/$path" >"$d/lib/modules/$ver/${path%.gz}" ;;
				*) die "unknown module format: $path" ;;
				esac
				# The guest loads plain .ko files, in this order.
				path=${path%.xz} path=${path%.zst} path=${path%.gz}
				grep -qxF "$path" "$d/etc/vmtest/modules" ||
					echo "$path" >>"$d/etc/vmtest/modules"
				;;
			builtin\ *) ;;
			*) die "modprobe: unexpected output for $m: $line" ;;
			esac
		done <<<"$deps"
	done
	pack "$d" "$out"
	rm -rf "$d"
	trap - EXIT
}

# build_libs OUT LIBLIST: the libraries listed (one path a line).
build_libs() {
	local out=$1 list=$2 d lib
	d=$(stage_dir)
	trap 'rm -rf "$d"' EXIT
	while read -r lib; do
		[ -n "$lib" ] && copy_file "$lib" "$d"
	done <"$list"
	pack "$d" "$out"
	rm -rf "$d"
	trap - EXIT
}

# TESTLIST lines: "crit BUILD-RELATIVE-PATH" or "sh SOURCE-RELATIVE-PATH".
# The programs' libraries are not copied but listed in OUT.libs (less those in
# SYSTEM_FILES, the system part's list) for the separately cached libs part.
build_project() {
	local out=$1 list=$2 system_files=${3:-/dev/null} d kind rel sub
	: "${BUILD:?BUILD must be set}"
	d=$(stage_dir)
	trap 'rm -rf "$d"' EXIT
	mkdir -p "$d/xb/build/tests" "$d/etc/vmtest"
	cp --preserve=mode "$VMDIR/init" "$d/init"
	[ -x "$BUILD/xdpban" ] || die "$BUILD/xdpban not built (make BUILD=$BUILD)"
	cp --preserve=mode "$BUILD/xdpban" "$d/xb/build/xdpban"
	list_libs "$BUILD/xdpban" >"$d/libs"
	# Test scripts use the shared helpers and may read data from the tree.
	for sub in tests/net tests/e2e tests/data rules; do
		[ -d "$TOP/$sub" ] || continue
		mkdir -p "$d/xb/$(dirname "$sub")"
		cp -r "$TOP/$sub" "$d/xb/$sub"
	done
	while read -r kind rel; do
		case $kind in
		crit)
			mkdir -p "$d/xb/build/$(dirname "$rel")"
			cp --preserve=mode "$BUILD/$rel" "$d/xb/build/$rel"
			list_libs "$BUILD/$rel" >>"$d/libs"
			;;
		sh)
			mkdir -p "$d/xb/$(dirname "$rel")"
			cp --preserve=mode "$TOP/$rel" "$d/xb/$rel"
			;;
		*) die "bad test list line: $kind $rel" ;;
		esac
	done <"$list"
	cp "$list" "$d/etc/vmtest/tests"
	LC_ALL=C sort -u "$d/libs" | LC_ALL=C comm -23 - "$system_files" >"$out.libs.tmp"
	rm "$d/libs"
	pack "$d" "$out"
	mv "$out.libs.tmp" "$out.libs"
	rm -rf "$d"
	trap - EXIT
}

# The host files the system part is made of, for the caller's cache check.
list_inputs() {
	local b
	command -v busybox
	[ -x "$PYTHON" ] && echo "$PYTHON"
	for b in $HOST_BINS; do
		command -v "$b" 2>/dev/null | grep "^/" || true
	done
}

what=${1:-}
[ "$what" = inputs ] && { list_inputs; exit 0; }
[ $# -ge 2 ] || die "usage: $0 system|modules|project|libs OUT ..."
shift
case $what in
system)  build_system "$@" ;;
libs)    build_libs "$@" ;;
modules) build_modules "$@" ;;
project) build_project "$@" ;;
*) die "unknown part '$what'" ;;
esac
