#!/usr/bin/env bash
# run_fuzz.sh BUILD SECONDS TARGET... - runs each libFuzzer target
# BUILD/tests/fuzz/fuzz_TARGET for SECONDS on its corpus, one after the other.
#
# The corpus in the repository, tests/fuzz/corpus/TARGET/, is read, never
# written: new inputs go to BUILD/fuzz-corpus/TARGET/ (add the interesting
# ones to the repository by hand, or merge with -merge=1). A crash, a leak,
# a timeout or a sanitizer report stops the run with a nonzero status; the
# input that did it is in BUILD/fuzz-artifacts/TARGET/. TARGET.dict next to
# this script, when present, is the target's dictionary.
# FUZZ_FLAGS adds libFuzzer flags (e.g. "-jobs=2 -workers=2").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 3 ] || { echo "usage: $0 BUILD SECONDS TARGET..." >&2; exit 2; }
build="$(cd "$1" && pwd)"
seconds="$2"
shift 2

for t in "$@"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "run_fuzz: $bin is missing: build with -DFUGUE_FUZZ=ON" >&2; exit 1; }
  [ -d "$here/corpus/$t" ] || { echo "run_fuzz: no corpus $here/corpus/$t" >&2; exit 1; }
  scratch="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t/"
  mkdir -p "$scratch" "$artifacts"
  dict=()
  [ -f "$here/$t.dict" ] && dict=("-dict=$here/$t.dict")
  log="$build/fuzz-$t.log"
  echo "== fuzz_$t: ${seconds}s on $here/corpus/$t (log: $log)"
  # shellcheck disable=SC2086
  if ! "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
      -artifact_prefix="$artifacts" "${dict[@]}" ${FUZZ_FLAGS:-} \
      "$scratch" "$here/corpus/$t" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "run_fuzz: fuzz_$t found a problem; the input is in $artifacts" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  echo "   fuzz_$t: ${execs:-?} runs, ${cov:-cov: ?}, no finding"
done
