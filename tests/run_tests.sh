#!/bin/sh
# Runs every test binary given, keeps going past failures, and ends with one
# line "N passed, N failed" (binaries); exits non-zero if any failed.
passed=0
failed=0
failures=""
for t in "$@"; do
	echo "== $(basename "$t")"
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $(basename "$t")"
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
