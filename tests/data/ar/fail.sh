#!/bin/bash
# A script that fails: says so on stderr, exits 3, sends no check_keys.
read -r msg
echo "fail: cannot do it" >&2
exit 3
