#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ruleset tests in Wazuh's .ini format (tests/ruleset/*.ini) through
# `xdpban logtest`, one TAP line per case (run_ini.py says how a case runs).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
cd "$TOP" || exit 1
exec python3 tests/ruleset/run_ini.py --xdpban "$BUILD/xdpban" --rules "$TOP/rules" tests/ruleset/*.ini
