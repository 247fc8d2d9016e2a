#!/bin/bash
# The layout rule (scripts/check-layout.sh) holds on this tree, and the
# checker does catch a planted cross-stage include.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if out=$("$TOP/scripts/check-layout.sh" "$TOP" 2>&1); then
	echo "ok - layout: every stage includes only common/ and itself"
else
	echo "not ok - layout: the tree breaks the rule"
	echo "$out" | sed 's/^/# /'
fi

# A copy with one planted violation per kind of mistake.
plant() {       # plant NAME FILE LINE -> the checker must fail and name FILE
	local name=$1 file=$2 line=$3
	rm -rf "$tmp/t"; mkdir -p "$tmp/t"
	cp -r "$TOP/user" "$tmp/t/user"
	printf '%s\n' "$line" >> "$tmp/t/user/$file"
	if out=$("$TOP/scripts/check-layout.sh" "$tmp/t" 2>&1); then
		echo "not ok - layout: planted $name not caught"
	elif grep -q "user/$file:[0-9]*:" <<<"$out"; then
		echo "ok - layout: planted $name is caught with file:line"
	else
		echo "not ok - layout: planted $name caught without naming user/$file"
		echo "$out" | sed 's/^/# /'
	fi
}
plant "stage -> stage include" rules/corr.c '#include "policy/state.h"'
plant "stage -> combiner include" decode/sshd.c '#include "pipeline/detect.h"'
plant "common -> stage include" common/addr.c '#include "decode/decode.h"'
plant "include without its folder" policy/policy.c '#include "state.h"'
plant "skeleton outside dataplane" daemon/daemon.c '#include "xdpban.skel.h"'
