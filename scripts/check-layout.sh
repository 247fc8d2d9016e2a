#!/bin/bash
# The tree's one rule, checked from the #include lines of user/:
#   stages   source decode rules policy dataplane respond fleet
#            include only common/ and their own folder (and bpf/xdpban.h,
#            the ABI shared with the XDP program; its skeleton only in dataplane/)
#   common/  includes only common/
#   pipeline/ combines stages; daemon/ also pipeline/; cli/ everything.
# Every project include names its folder ("rules/rules.h").
#   check-layout.sh [TOP]   prints each violation as FILE:LINE: reason; exit 1 if any
set -u
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
stages="source decode rules policy dataplane respond fleet"
bad=0

allowed() {     # allowed FOLDER INCLUDE -> 0 when FOLDER may include INCLUDE
	local dir=$1 inc=$2 tgt=${2%%/*}
	case $inc in
	xdpban.h) [ "$dir" != common ]; return ;;
	xdpban.skel.h) [ "$dir" = dataplane ]; return ;;
	*/*) ;;
	*) return 1 ;;
	esac
	[ -d "$top/user/$tgt" ] || return 1
	[ "$tgt" = common ] || [ "$tgt" = "$dir" ] && return 0
	case $dir in
	common) return 1 ;;
	pipeline) [[ " $stages " == *" $tgt "* ]] ;;
	daemon) [[ " $stages pipeline " == *" $tgt "* ]] ;;
	cli) return 0 ;;
	*) return 1 ;;  # a stage reaching into another stage or a combiner
	esac
}

while IFS= read -r hit; do
	file=${hit%%:*}
	rest=${hit#*:}
	line=${rest%%:*}
	inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"${rest#*:}")
	rel=${file#"$top"/user/}
	dir=${rel%%/*}
	if [ "$rel" = "$dir" ]; then
		echo "$file:$line: a source file directly in user/ (each belongs to a stage folder)"
		bad=$((bad + 1))
	elif ! allowed "$dir" "$inc"; then
		echo "$file:$line: $dir/ may not include \"$inc\""
		bad=$((bad + 1))
	fi
done < <(grep -rn --include='*.[ch]' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$top/user")

[ "$bad" = 0 ] || { echo "check-layout: $bad include(s) break the layout rule (see README, \"Where things are\")"; exit 1; }
exit 0
