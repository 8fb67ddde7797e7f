#!/usr/bin/env bash
# check_shutdown.sh — the test of samples/shutdown.c: start it, send SIGQUIT
# once it says it is ready, and check that it exits promptly, with status 0,
# by the gv_shutdown route, printing nothing on stdout.
#
#   check_shutdown.sh <path to shutdown> [max seconds after SIGQUIT, default 2]
set -u
exe=$1
max_ms=$(( ${2:-2} * 1000 ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    echo "--- stdout"; cat "$tmp/out"
    echo "--- stderr"; cat "$tmp/err"
    exit 1
}

"$exe" >"$tmp/out" 2>"$tmp/err" &
pid=$!
# A watchdog, so that a sample that ignores the signal fails instead of
# hanging the test.
# Its sleep is killed with it, so no stray process keeps ctest's pipes open.
( trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep 10 & s=$!
  wait "$s" && kill -KILL "$pid" ) >/dev/null 2>&1 &
watchdog=$!

# Wait (up to 5 s) until the handler is installed: before that SIGQUIT would
# have its default action (a core dump).
for _ in $(seq 500); do
    grep -q "waits for SIGQUIT" "$tmp/err" && break
    sleep 0.01
done
if ! grep -q "waits for SIGQUIT" "$tmp/err"; then
    kill -KILL "$pid"
    fail "never got ready"
fi

t0=$(date +%s%N)
kill -QUIT "$pid"
wait "$pid"
rc=$?
t1=$(date +%s%N)
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
ms=$(( (t1 - t0) / 1000000 ))

[ "$rc" -eq 0 ] || fail "exit status $rc, expected 0"
[ "$ms" -le "$max_ms" ] || fail "took $ms ms after SIGQUIT (limit $max_ms)"
[ -s "$tmp/out" ] && fail "printed on stdout"
grep -q "join returned GV_ECANCELED" "$tmp/err" ||
    fail "main's join was not canceled"
echo "ok: exited with status 0, $ms ms after SIGQUIT"
cat "$tmp/err"
