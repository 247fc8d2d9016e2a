#!/bin/bash
# vmtest self-test: a test that never ends; the guest's per-test limit stops it.
echo "ok - started"
sleep 100000
