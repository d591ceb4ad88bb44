#!/usr/bin/env bash
# Counts the instructions `scanstation bench decode` spends inside the decoder, under
# valgrind's callgrind, once per tuning given: a figure that does not move with the load on a
# shared machine, where wall and CPU times of two identical runs differ by 5 to 30 %.
# Instructions are not time (cache misses and branch mispredictions are left out), so use it
# to compare two variants of the same code, not to quote a speed.
#
#   benches/decode_instructions.sh MANIFEST [TUNE ...]     # '-' is the default tuning
#   benches/decode_instructions.sh /tmp/gk/sub40.jsonl - mcoher=1 rows=9
#
# A run costs about 50 times the plain run (40 label frames: 90 s); the tunings run two at a
# time. Needs valgrind and a release build with the `lab` feature.
set -euo pipefail
bin=${BIN:-target/release/scanstation}
if [ $# -lt 1 ]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
command -v valgrind >/dev/null || { echo "decode_instructions: valgrind is not installed" >&2; exit 1; }
[ -x "$bin" ] || { echo "decode_instructions: no $bin (cargo build --release --features lab)" >&2; exit 1; }
manifest=$1
shift
[ -r "$manifest" ] || { echo "decode_instructions: cannot read $manifest" >&2; exit 1; }
[ $# -eq 0 ] && set -- -
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {
    local i=$1 tune=$2 args=()
    [ "$tune" != "-" ] && args=(--tune "$tune")
    valgrind --tool=callgrind --callgrind-out-file="$work/$i.out" \
        --toggle-collect='scanstation::decode::Decoder::decode_plan*' \
        "$bin" bench decode --manifest "$manifest" "${args[@]}" >"$work/$i.txt" 2>"$work/$i.err" ||
        { echo "decode_instructions: run '$tune' failed:" >&2; tail -5 "$work/$i.err" >&2; return 1; }
}
i=0
for tune in "$@"; do
    run $i "$tune" &
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
i=0
base=
for tune in "$@"; do
    ir=$(awk '/Collected :/ {print $4}' "$work/$i.err")
    recall=$(grep -o 'recall [0-9.]* % ([0-9/]*)' "$work/$i.txt" | head -1)
    base=${base:-$ir}
    awk -v t="$tune" -v ir="$ir" -v b="$base" -v r="$recall" \
        'BEGIN { printf "%-28s %16.0f instructions  %.3fx  %s\n", t, ir, ir / b, r }'
    i=$((i + 1))
done
