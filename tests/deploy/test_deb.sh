#!/bin/bash
# The Debian package: `make deb` builds it with dpkg-buildpackage, lintian
# finds no error, and its contents are what an admin expects. Installing it
# into a running system is vmtest/system/run.sh's part.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()    { echo "ok - deb: $*"; }
nok()   { echo "not ok - deb: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }

version=$(make -s -C "$TOP" -f Makefile --eval 'print-version: ; @echo $(VERSION)' print-version)
deb=$BUILD/deb/xdpban_${version}_amd64.deb
if ! make -s -C "$TOP" BUILD="$BUILD" deb >"$tmp/make.log" 2>&1 || [ ! -f "$deb" ]; then
	nok "make deb builds $(basename "$deb")"
	sed 's/^/# /' "$tmp/make.log" | tail -30
	exit 1
fi
ok "make deb builds $(basename "$deb")"
check "debian/changelog's version is the Makefile's ($version)" \
	[ "$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)" = "$version" ]

# lintian refuses to run some checks as root; as nobody it reads a copy.
cp "$deb" "$tmp/" && chmod -R a+rX "$tmp"
if runuser -u nobody -- lintian --fail-on error --tag-display-limit 0 "$tmp/$(basename "$deb")" >"$tmp/lintian.log" 2>&1; then
	ok "lintian: no errors ($(grep -c '^W:' "$tmp/lintian.log") warnings)"
else
	nok "lintian: errors"
fi
sed 's/^/# /' "$tmp/lintian.log"

dpkg-deb -x "$deb" "$tmp/root" && dpkg-deb -e "$deb" "$tmp/ctl" || { nok "dpkg-deb unpacks it"; exit 1; }
r=$tmp/root
mode() { stat -c %a "$1" 2>/dev/null; }
check "the binary runs (/usr/sbin/xdpban --help)" bash -c "'$r/usr/sbin/xdpban' --help >/dev/null"
check "rules under /usr/share/xdpban/rules" test -f "$r/usr/share/xdpban/rules/0095-sshd.xml"
check "man page xdpban(8)" test -f "$r/usr/share/man/man8/xdpban.8.gz"
check "bash completion" test -f "$r/usr/share/bash-completion/completions/xdpban"
check "systemd unit, ExecStart in /usr/sbin" grep -q '^ExecStart=/usr/sbin/xdpban run' "$r/lib/systemd/system/xdpban.service"
check "default config is a conffile of mode 0600" \
	bash -c "grep -qx /etc/xdpban/xdpban.conf '$tmp/ctl/conffiles' && [ \"\$(stat -c %a '$r/etc/xdpban/xdpban.conf')\" = 600 ]"
check "the default config points at the packaged rules" grep -q '<rules_dir>/usr/share/xdpban/rules</rules_dir>' "$r/etc/xdpban/xdpban.conf"
check "the default config names no interface (installing attaches nothing)" \
	bash -c "! grep -v '^ *<!--' '$r/etc/xdpban/xdpban.conf' | grep -q '^ *<interface'"
check "state directory /var/lib/xdpban, mode 0700" [ "$(mode "$r/var/lib/xdpban")" = 700 ]
check "active-response directory with firewall-drop -> xdpban" \
	[ "$(readlink -f "$r/usr/lib/xdpban/active-response/firewall-drop")" = "$r/usr/sbin/xdpban" ]
# dh_installsystemd --no-enable: postinst enables the unit only where the
# admin had enabled it (an upgrade), and its start skips a disabled unit
# (vmtest/system/run.sh checks that nothing runs after dpkg -i); an upgrade
# restarts after the files are in place and nothing stops it first (no
# preinst stop: with --no-start there was one, and no start after it).
check "the unit is installed disabled: enabled only where it was" \
	bash -c "grep -B2 'deb-systemd-helper enable' '$tmp/ctl/postinst' | grep -q was-enabled"
check "an upgrade restarts a running daemon, never stopping it first" \
	bash -c "grep -q '_dh_action=restart' '$tmp/ctl/postinst' && ! grep -qs 'deb-systemd-invoke stop' '$tmp/ctl/preinst'"
check "purge removes the state and the pins" \
	bash -c "grep -q 'rm -rf /var/lib/xdpban' '$tmp/ctl/postrm' && grep -q 'rm -rf /sys/fs/bpf/xdpban' '$tmp/ctl/postrm'"
# remove (purge included) stops the daemon before its files go;
# vmtest/system/run.sh purges a running service for real.
check "remove stops the service (prerm)" \
	bash -c "grep -A1 '\"\$1\" = remove' '$tmp/ctl/prerm' | grep -q \"deb-systemd-invoke stop 'xdpban.service'\""
