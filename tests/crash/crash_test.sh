#!/bin/bash
# crash_test.sh - the results file under kill -9, a full disk, readers and a
# second writer (docs/run.md, "Guarantees"). Every kill lands at a random
# moment of a spec that flushes at every step; after each, every completed
# run must read, and the final --resume must give the runs of an
# uninterrupted sweep (timings aside). Usage: crash_test.sh BIN [KILLS]
set -u
BIN=$(realpath "${1:?usage: crash_test.sh BIN [KILLS]}")
KILLS=${2:-16}
SPEC=$(cd "$(dirname "$0")" && pwd)/crash.yaml
DIR=$(mktemp -d /tmp/sb_crash_XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The runs' ids and statuses, and every series and attribute but timings
# and memory, equal those of ref.h5.
same_as_ref() {
	[ "$($BIN show "$1" | awk 'NR > 2 {print $1, $2}')" = \
	  "$($BIN show ref.h5 | awk 'NR > 2 {print $1, $2}')" ] || return 1
	h5diff ref.h5 "$1" /runs /runs | grep -E '^(attribute|dataset):' |
		grep -vE '/t_[a-z]+>|<(peak_rss_bytes|time_per_step)' |
		grep -q . && return 1
	return 0
}

completed() { $BIN show "$1" 2>/dev/null | grep -c ' completed '; }

start=$(date +%s)
$BIN run "$SPEC" -o ref.h5 --quiet >/dev/null || fail "reference sweep"
n_runs=$(completed ref.h5)
[ "$n_runs" -eq 6 ] || fail "reference has $n_runs completed runs, not 6"

# ---- kill -9 at random moments, each followed by a reader and a resume
RANDOM=$$
prev=0
for i in $(seq "$KILLS"); do
	$BIN run "$SPEC" -o k.h5 --resume --quiet >/dev/null 2>k.err &
	pid=$!
	sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -e k.h5 ] || continue
	if ! $BIN show k.h5 >/dev/null 2>show.err; then
		fail "after kill $i: show: $(cat show.err)"
		continue
	fi
	now=$(completed k.h5)
	[ "$now" -ge "$prev" ] || fail "kill $i lost completed runs ($prev -> $now)"
	prev=$now
done
$BIN run "$SPEC" -o k.h5 --resume --quiet >/dev/null 2>k.err ||
	fail "final resume: $(cat k.err)"
same_as_ref k.h5 || fail "resumed file differs from the uninterrupted one"
echo "kill -9: $KILLS kills, $prev/$n_runs runs completed before the final resume"

# ---- a full disk: one message, exit 1, a readable and resumable file
( trap '' XFSZ; ulimit -f 200; exec $BIN run "$SPEC" -o full.h5 --quiet ) \
	>/dev/null 2>full.err
rc=$?
[ "$rc" -eq 1 ] || fail "full disk: exit $rc, not 1"
[ "$(wc -l <full.err)" -eq 1 ] && grep -q "^error: cannot write 'full.h5'.*File too large" full.err ||
	fail "full disk: stderr is not one clear line: $(head -c 400 full.err)"
kept=$(completed full.h5)
[ "$kept" -ge 1 ] && [ "$kept" -lt "$n_runs" ] ||
	fail "full disk: $kept runs kept (want 1 to $((n_runs - 1)))"
$BIN run "$SPEC" -o full.h5 --resume --quiet >/dev/null 2>full.err ||
	fail "resume after a full disk: $(cat full.err)"
same_as_ref full.h5 || fail "full disk: resumed file differs"
echo "full disk: exit $rc, $kept/$n_runs runs kept, resumed to the reference"

# ---- readers while a run writes: every read succeeds
HDF5_USE_FILE_LOCKING=FALSE $BIN run "$SPEC" -o live.h5 --quiet >/dev/null 2>&1 &
pid=$!
reads=0 bad=0 seen=""
while kill -0 "$pid" 2>/dev/null; do
	if [ -e live.h5 ]; then
		reads=$((reads + 1))
		if out=$($BIN show live.h5 2>&1); then
			n=$(echo "$out" | grep -c ' completed ')
			case " $seen " in *" $n "*) ;; *) seen="$seen $n" ;; esac
		else
			bad=$((bad + 1))
			echo "  read failed: $(echo "$out" | tail -1)"
		fi
	fi
	sleep 0.1
done
wait "$pid" || fail "live writer failed"
[ "$bad" -eq 0 ] || fail "readers: $bad of $reads reads failed"
[ "$reads" -ge 5 ] || fail "readers: only $reads reads"
[ "$(echo $seen | wc -w)" -ge 3 ] ||
	fail "readers saw the file grow only through:$seen completed runs"
echo "readers: $reads reads during the sweep, $bad failed, saw$seen completed runs"

# ---- a second writer, whatever HDF5's locking: refused, then takes over
export HDF5_USE_FILE_LOCKING=FALSE
$BIN run "$SPEC" -o two.h5 --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do [ -e two.h5.lock ] && break; sleep 0.05; done
$BIN run "$SPEC" -o two.h5 --resume --quiet >/dev/null 2>two.err
rc=$?
[ "$rc" -eq 2 ] && grep -q "is being written by process $pid" two.err ||
	fail "second writer: exit $rc: $(cat two.err)"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
$BIN run "$SPEC" -o two.h5 --resume --quiet >/dev/null 2>two.err ||
	fail "taking over a dead writer's lock: $(cat two.err)"
[ -e two.h5.lock ] && fail "the lock file outlived its writer"
same_as_ref two.h5 || fail "second writer: resumed file differs"
unset HDF5_USE_FILE_LOCKING
echo "second writer: exit $rc while the first ran; dead writer's lock taken over"

echo "crash test: $(( $(date +%s) - start )) s, $failures failure(s)"
[ "$failures" -eq 0 ]
