#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR] — grove's benchmarks, and the same figures for the
# peers (Go, Erlang, gevent; CAF if its headers are there) where they are
# installed.
#
# Runs each grove benchmark REPS times and prints the median of each figure as
#   grove <name> <value> <unit>
# then, for each peer found on this machine, the medians of its matching
# figures (from shared/peers, built in a scratch WORKDIR), then
#   ratio grove/<peer> <name> <value> x
# for each figure both have. Comment lines start with "#".
#
# BUILD_DIR defaults to <repo>/build-bench; if it holds no benchmarks it is
# configured (CMAKE_BUILD_TYPE=Release, tests and samples off) and built.
# Installs nothing: a peer whose toolchain is missing is skipped.
#
# Environment:
#   REPS=3            runs per benchmark (the median is printed)
#   YIELD_REPS        runs of bench_yield (default 3 x REPS: 0.1 s each, and
#                     the figure swings most from run to run on a busy VM)
#   PEERS=1           0: grove only
#   PEERS_DIR         the peers' sources (default <repo>/../shared/peers,
#                     then /work/shared/peers)
#   WORKDIR           scratch dir for peer builds and raw output
#                     (default /tmp/grove-bench)
#   TMO=120           per-run safety timeout in seconds
#   YIELD_N=2000000 SPAWN_N=1000000 COMPACT_N=1000000 DEFAULT_N=100000
#   PINGPONG_N=2000000 RING_N=10000000 MANY_N=1000000 CROSS_N=2000000
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$root/build-bench}
REPS=${REPS:-3}
YIELD_REPS=${YIELD_REPS:-$((3 * REPS))}
PEERS=${PEERS:-1}
TMO=${TMO:-120}
WORKDIR=${WORKDIR:-/tmp/grove-bench}
YIELD_N=${YIELD_N:-2000000}
SPAWN_N=${SPAWN_N:-1000000}
COMPACT_N=${COMPACT_N:-1000000}
DEFAULT_N=${DEFAULT_N:-100000}
PINGPONG_N=${PINGPONG_N:-2000000}
RING_N=${RING_N:-10000000}
MANY_N=${MANY_N:-1000000}
CROSS_N=${CROSS_N:-2000000}
BENCHES="bench_yield bench_switch bench_spawn bench_blocked bench_pingpong
         bench_ring bench_many2one bench_crossthread"

mkdir -p "$WORKDIR" || exit 1
WORKDIR=$(cd "$WORKDIR" && pwd)
RAW=$WORKDIR/raw.txt SUM=$WORKDIR/summary.txt ERR=$WORKDIR/stderr.txt
: >"$RAW"; : >"$SUM"; : >"$ERR"

# ---------------------------------------------------------------- build
# An existing tree is rebuilt (incrementally) so figures match the sources.
if [ ! -f "$B/CMakeCache.txt" ] || [ ! -x "$B/bench/bench_yield" ]; then
  echo "# configuring $B (Release)" >&2
  cmake -S "$root" -B "$B" -DCMAKE_BUILD_TYPE=Release -DGV_BUILD_TESTS=OFF \
    -DGV_BUILD_SAMPLES=OFF -DGV_BUILD_BENCH=ON >>"$ERR" 2>&1 ||
    { echo "bench/run.sh: cmake configure failed (see $ERR)" >&2; exit 1; }
fi
# shellcheck disable=SC2086
cmake --build "$B" -j"$(nproc)" --target $BENCHES >>"$ERR" 2>&1 ||
  { echo "bench/run.sh: build failed (see $ERR)" >&2; exit 1; }
BIN=$B/bench
cache() { sed -n "s/^$1:[A-Z]*=//p" "$B/CMakeCache.txt" | head -1; }
btype=$(cache CMAKE_BUILD_TYPE) san=$(cache GV_SANITIZER) ctx=$(cache GV_CONTEXT)

# ---------------------------------------------------------------- helpers
# median of each "runtime name value unit" key in file $1, in first-seen order
median() {
  awk 'NF == 4 && $1 !~ /^#/ {k=$1" "$2; if(!(k in n)){ord[++m]=k; u[k]=$4} v[k, ++n[k]]=$3}
       END{for(i=1;i<=m;i++){k=ord[i]; c=n[k];
             for(a=1;a<=c;a++) x[a]=v[k,a]+0;
             for(a=1;a<=c;a++) for(b=a+1;b<=c;b++) if(x[b]<x[a]){t=x[a];x[a]=x[b];x[b]=t}
             med=(c%2)?x[(c+1)/2]:(x[c/2]+x[c/2+1])/2;
             printf "%s %.1f %s\n", k, med, u[k]}}' "$1"
}

# run_med CMD...: REPS runs, print the medians of the lines they print
run_med() {
  local tmp rc; tmp=$(mktemp)
  for _ in $(seq "$REPS"); do
    echo "# run: $*" >>"$ERR"
    timeout "$TMO" "$@" >>"$tmp" 2>>"$ERR"; rc=$?
    [ $rc = 0 ] || echo "# FAILED ($rc): $*" | tee -a "$ERR"
  done
  cat "$tmp" >>"$RAW"; median "$tmp" | tee -a "$SUM"; rm -f "$tmp"
}

# run_rss RUNTIME LABEL CMD...: run_med under /usr/bin/time -v, adding
# "<RUNTIME> <LABEL>_peak_rss <KiB> KiB" (as shared/peers/run.sh does)
run_rss() {
  local rt=$1 label=$2; shift 2
  if [ ! -x /usr/bin/time ]; then run_med "$@"; return; fi
  local tmp tv rc; tmp=$(mktemp); tv=$(mktemp)
  for _ in $(seq "$REPS"); do
    echo "# run: $*" >>"$ERR"
    timeout "$TMO" /usr/bin/time -v -o "$tv" "$@" >>"$tmp" 2>>"$ERR"; rc=$?
    if [ $rc = 0 ]; then
      echo "$rt ${label}_peak_rss $(awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); print $2}' "$tv") KiB" >>"$tmp"
    else
      echo "# FAILED ($rc): $*" | tee -a "$ERR"
    fi
  done
  cat "$tmp" >>"$RAW"; median "$tmp" | tee -a "$SUM"; rm -f "$tmp" "$tv"
}

get() { awk -v k="$1 $2" '$1" "$2==k{print $3}' "$SUM" | tail -1; }

# ratio PEER GROVE_NAME PEER_NAME [LABEL]: "ratio grove/PEER LABEL g/p x"
# (LABEL defaults to GROVE_NAME)
ratio() {
  local g p; g=$(get grove "$2"); p=$(get "$1" "$3")
  [ -n "$g" ] && [ -n "$p" ] || return 0
  awk -v g="$g" -v p="$p" -v peer="$1" -v nm="${4:-$2}" \
    'BEGIN{if (p > 0) printf "ratio grove/%s %s %.2f x\n", peer, nm, g/p}'
}

# target NAME LIMIT UNIT: a comment saying whether grove's median meets it
target() {
  local g; g=$(get grove "$1")
  [ -n "$g" ] || { echo "# target $1 <= $2 $3: no figure"; return; }
  awk -v g="$g" -v l="$2" -v nm="$1" -v u="$3" \
    'BEGIN{printf "# target %s <= %s %s: %s %s\n", nm, l, u, g, (g <= l) ? "met" : "MISSED"}'
}

echo "# grove bench: REPS=$REPS YIELD_REPS=$YIELD_REPS  $(date -u +%FT%TZ)  $(nproc) cpus  $(uname -r)" \
     "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
     "build=${btype:-?} context=${ctx:-?} sanitizer=${san:-none}"
case "$btype" in Release|RelWithDebInfo) ;; *)
  echo "# warning: $B is a '${btype:-?}' build: figures are not representative" ;;
esac
[ "${san:-none}" = none ] ||
  echo "# warning: $B is built with sanitizer $san: figures are not representative"

# ---------------------------------------------------------------- grove
REPS=$YIELD_REPS run_med "$BIN/bench_yield" "$YIELD_N"
run_med "$BIN/bench_switch" "$YIELD_N"
run_med "$BIN/bench_spawn" "$SPAWN_N" detached
run_med "$BIN/bench_spawn" "$SPAWN_N" joinall
run_med "$BIN/bench_blocked" "$COMPACT_N" compact
run_med "$BIN/bench_blocked" "$DEFAULT_N" default
# actors: mailboxes (gv_send/gv_recv) in the peers' message benchmarks
run_med "$BIN/bench_pingpong" "$PINGPONG_N"
run_med "$BIN/bench_ring" "$RING_N"
run_med "$BIN/bench_many2one" "$MANY_N" unbounded
run_med "$BIN/bench_many2one" "$MANY_N" cap1024
run_med "$BIN/bench_crossthread" "$CROSS_N"

echo "# target: yield <= 10 ns, spawn <= 60 ns, compact blocked <= 2700 bytes/actor"
target yield 10 ns/switch
target spawn 60 ns/spawn
target blocked_compact_rss_per_actor 2700 bytes/actor
echo "# target: pingpong <= 30 ns/msg, ring <= 30 ns/hop, many2one <= 40 ns/msg"
target pingpong 30 ns/msg
target ring 30 ns/hop
target many2one 40 ns/msg

[ "$PEERS" = 0 ] && exit 0

# ---------------------------------------------------------------- peers
if [ -z "${PEERS_DIR:-}" ]; then
  for d in "$root/../shared/peers" /work/shared/peers; do
    [ -f "$d/go/bench.go" ] && { PEERS_DIR=$d; break; }
  done
fi
if [ -z "${PEERS_DIR:-}" ] || [ ! -d "$PEERS_DIR" ]; then
  echo "# skipped peers: no shared/peers found (set PEERS_DIR)"
  exit 0
fi
P=$WORKDIR/peers
rm -rf "$P"; mkdir -p "$P"
if ! cp -r "$PEERS_DIR"/c "$PEERS_DIR"/go "$PEERS_DIR"/erlang "$PEERS_DIR"/gevent "$P"/ \
     2>>"$ERR"; then
  echo "# skipped peers: cannot copy $PEERS_DIR"; exit 0
fi
[ -d "$PEERS_DIR/caf" ] && cp -r "$PEERS_DIR"/caf "$P"/ 2>>"$ERR"
chmod -R u+w "$P"
cd "$P" || exit 1
echo "# peers from $PEERS_DIR; one scheduler thread (GOMAXPROCS=1, +S 1:1," \
     "CAF 1 thread) for yield, spawn and the message benchmarks as grove has;" \
     "blocked runs as shared/peers/run.sh does"

# C machine anchors (a floor, not a peer): a bare stack switch and a page
# fault, to tell a slow library from a slow machine. Needs Boost.Context.
if command -v gcc >/dev/null 2>&1 &&
   ( cd c && gcc -O2 -o anchors anchors.c -lboost_context ) >>"$ERR" 2>&1; then
  run_med c/anchors fcontext 50000000
  run_med c/anchors pagefault 131072
else
  echo "# skipped c anchors: gcc or libboost-context-dev missing"
fi

# Go
if command -v go >/dev/null 2>&1 &&
   ( cd go && GOCACHE=${GOCACHE:-$WORKDIR/go-cache} GOFLAGS=-mod=mod \
       go build -o bench bench.go ) >>"$ERR" 2>&1; then
  G=go/bench
  run_med env GOMAXPROCS=1 $G yield 2000000 p1
  run_rss go spawn_p1 env GOMAXPROCS=1 $G spawn 1000000 p1
  run_med $G blocked_shared 1000000
  run_med env GOMAXPROCS=1 $G pingpong 2000000 p1
  run_med env GOMAXPROCS=1 $G ring 10000000 p1
  run_med env GOMAXPROCS=1 $G many_unbuf 1000000 p1
  run_med env GOMAXPROCS=1 $G many_buf 1000000 p1
else
  echo "# skipped go: not installed or build failed"
fi

# Erlang
if command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1 &&
   ( cd erlang && erlc bench.erl ) >>"$ERR" 2>&1; then
  ERL=(erl -noshell -pa erlang)
  run_med "${ERL[@]}" +S 1:1 -run bench main yield 2000000 s1
  run_rss erlang spawn_s1 "${ERL[@]}" +S 1:1 +P 2000000 -run bench main spawn 1000000 s1
  run_med "${ERL[@]}" +P 2000000 -run bench main blocked 1000000 ""
  run_med "${ERL[@]}" +S 1:1 -run bench main pingpong 2000000 s1
  run_med "${ERL[@]}" +S 1:1 -run bench main ring 10000000 s1
  run_med "${ERL[@]}" +S 1:1 -run bench main many 1000000 s1
else
  echo "# skipped erlang: not installed or erlc failed"
fi

# gevent (Debian's python3: a pyenv python3 on PATH cannot see it)
PY=/usr/bin/python3
if [ -x $PY ] && $PY -c 'import gevent' >/dev/null 2>&1; then
  run_med $PY gevent/bench.py yield 200000
  run_rss gevent spawn $PY gevent/bench.py spawn 100000
  run_med $PY gevent/bench.py blocked_event 100000
  run_med $PY gevent/bench.py pingpong 200000
  run_med $PY gevent/bench.py ring 500000
  run_med $PY gevent/bench.py many 1000000
else
  echo "# skipped gevent: /usr/bin/python3 cannot import gevent"
fi

# CAF (optional, as in shared/peers/run.sh: Debian libcaf-dev and g++);
# skipped without a word when its headers are not installed.
if [ -e /usr/include/caf/all.hpp ] && [ -f caf/bench.cpp ] &&
   command -v g++ >/dev/null 2>&1 &&
   ( cd caf && g++ -O2 -std=c++17 -o bench bench.cpp -lcaf_core -lpthread ) \
     >>"$ERR" 2>&1; then
  run_med caf/bench pingpong 2000000 1
  run_med caf/bench ring 10000000 1
  run_med caf/bench many 1000000 1
fi

# ---------------------------------------------------------------- ratios
# grove figure, then each peer's closest figure (and yield over the bare
# fcontext switch of the C anchors). gevent's spawn runs 100,000
# greenlets, not 1,000,000: its peak RSS is not compared. A figure a peer
# did not run (CAF has no yield, and is optional) gets no line.
{
  ratio c yield fcontext_switch
  for peer in go erlang gevent; do
    case $peer in
      go) y=yield_p1 s=spawn_p1 bs=spawn_blocked_shared
          br=spawn_blocked_shared_inproc_rss rss=spawn_p1_peak_rss ;;
      erlang) y=yield_s1 s=spawn_s1 bs=spawn_blocked
              br=spawn_blocked_inproc_rss rss=spawn_s1_peak_rss ;;
      gevent) y=yield s=spawn bs=spawn_blocked_event
              br=spawn_blocked_event_inproc_rss rss= ;;
    esac
    ratio $peer yield "$y"
    ratio $peer spawn "$s"
    [ -n "$rss" ] && ratio $peer spawn_peak_rss "$rss"
    ratio $peer blocked_compact_spawn "$bs"
    ratio $peer blocked_compact_rss_per_actor "$br"
    ratio $peer blocked_default_spawn "$bs"
    ratio $peer blocked_default_rss_per_actor "$br"
  done
  # messages: one scheduler thread for every peer; Go's many2one against
  # its unbuffered channel (the peers' headline), and grove's mailbox
  # bounded to 1024 against Go's 1024-buffered channel
  for peer in go erlang gevent caf; do
    case $peer in
      go) pp=pingpong_p1 rg=ring_p1 m1=many2one_unbuf_p1 ;;
      erlang) pp=pingpong_s1 rg=ring_s1 m1=many2one_s1 ;;
      gevent) pp=pingpong_queue rg=ring m1=many2one ;;
      caf) pp=pingpong_t1 rg=ring_t1 m1=many2one_t1 ;;
    esac
    ratio $peer pingpong "$pp"
    ratio $peer ring "$rg"
    ratio $peer many2one "$m1"
    [ $peer = go ] && ratio go many2one_cap1024 many2one_buf1024_p1
  done
} | tee -a "$SUM"
exit 0
