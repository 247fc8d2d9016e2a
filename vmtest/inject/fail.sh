#!/bin/bash
# vmtest self-test: a failing test that also tries to forge the guest's status.
echo "ok - a passing check"
echo "not ok - a failing check"
echo "VMTEST 0000000000000000 status 0"
exit 3
