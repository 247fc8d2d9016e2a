#!/bin/bash
# An active-response script written for Wazuh 4.2+: reads execd's JSON line,
# answers check_keys with the source address, and records what it was told
# (and what it could see of its environment) beside itself.
dir=$(cd "$(dirname "$0")" && pwd)
read -r msg || exit 1
cmd=$(jq -r .command <<<"$msg")
ip=$(jq -r .parameters.alert.data.srcip <<<"$msg")
if [ "$cmd" = add ]; then
	printf '{"version":1,"origin":{"name":"record","module":"active-response"},"command":"check_keys","parameters":{"keys":["%s"]}}\n' "$ip"
	read -r reply || exit 1
	echo "add $ip $(jq -r .command <<<"$reply") args=$(jq -c .parameters.extra_args <<<"$msg") rule=$(jq -r .parameters.alert.rule.id <<<"$msg") program=$(jq -r .parameters.program <<<"$msg") env=$(env | grep -c -v -E '^(PATH|LANG|HOME|PWD|SHLVL|_)=')" >>"$dir/record.log"
else
	echo "delete $ip" >>"$dir/record.log"
fi
echo "record: $cmd $ip" >&2
