#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Recall on fail2ban's annotated sshd log (Debian's fail2ban package): the
# rules must keep catching at least the 70 of 97 failure lines they catch
# today (scripts/f2b-recall.py says how a line counts), and alert on no
# address fail2ban never flags beyond the 2 known (README, "Ruleset tests").
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
LOG=/usr/lib/python3/dist-packages/fail2ban/tests/files/logs/sshd
if [ ! -r "$LOG" ]; then
	echo "not ok - fail2ban's sshd log: $LOG missing (scripts/packages.txt installs fail2ban)"
	exit 1
fi
out=$(python3 "$TOP/scripts/f2b-recall.py" --xdpban "$BUILD/xdpban" --rules "$TOP/rules" --min 70)
rc=$?
echo "$out" | sed -n '1,3s/^/# /p'
[ $rc = 0 ] && echo "ok - fail2ban's sshd log: at least 70 failure lines caught" ||
	echo "not ok - fail2ban's sshd log: fewer than 70 failure lines caught"
n=$(echo "$out" | sed -n 's/^false alarms: \([0-9]*\) .*/\1/p')
[ "${n:-99}" -le 2 ] && echo "ok - fail2ban's sshd log: at most 2 addresses alerted that fail2ban never flags" ||
	echo "not ok - fail2ban's sshd log: $n addresses alerted that fail2ban never flags"
