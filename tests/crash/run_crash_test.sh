#!/bin/sh
# The crash test as one entry of tests/run_tests.sh: the binary from $SB_BIN.
exec "$(dirname "$0")/crash_test.sh" "${SB_BIN:?SB_BIN names the binary}"
