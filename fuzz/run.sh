#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets/ for a bounded time each.
#
#   fuzz/run.sh                      # every target, 20 s each
#   FUZZ_SECONDS=300 fuzz/run.sh     # longer
#   fuzz/run.sh params jwt_verify    # only these targets
#
# Needs cargo-fuzz (installed here with `cargo install cargo-fuzz --locked`
# when missing). cargo-fuzz passes nightly-only rustc flags (sanitizer,
# coverage instrumentation); on a stable toolchain RUSTC_BOOTSTRAP=1 allows
# them, so no nightly is needed. FUZZ_SANITIZER (default `address`) is passed
# as `--sanitizer`; `none` is faster and still catches every panic.
#
# Each target starts from fuzz/corpus/<target>/ (kept between runs, ignored
# by git) plus the saved inputs in fuzz/regressions/<target>/.
#
# Exit status is non-zero if any target crashed (a panic, an assertion in
# fuzz/src/lib.rs, a sanitizer report, a timeout or OOM). libFuzzer saves the
# input as fuzz/artifacts/<target>/crash-<sha1> (or oom-*/timeout-*).
# To turn it into a regression test:
#   1. reproduce:  RUSTC_BOOTSTRAP=1 cargo fuzz run --features fuzzing <target> fuzz/artifacts/<target>/crash-...
#   2. keep it:    cp fuzz/artifacts/<target>/crash-... fuzz/regressions/<target>/<short-description>
#   3. fix the bug; `cargo test --manifest-path fuzz/Cargo.toml` replays every
#      file in fuzz/regressions/ through the same code (stable, no libFuzzer).
set -uo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

echo "fuzz/run.sh: building ${targets[*]} (sanitizer: $sanitizer)"
if ! cargo fuzz build --features fuzzing --sanitizer "$sanitizer"; then
  echo "fuzz/run.sh: build failed" >&2
  exit 1
fi

failed=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "regressions/$target" "artifacts/$target"
  before=$(ls "artifacts/$target" | sort)
  echo "fuzz/run.sh: $target for ${seconds}s"
  start=$(date +%s)
  cargo fuzz run --features fuzzing --sanitizer "$sanitizer" "$target" \
    "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
  status=$?
  echo "fuzz/run.sh: $target exited $status after $(( $(date +%s) - start ))s"
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    new=$(comm -13 <(echo "$before") <(ls "artifacts/$target" | sort))
    for a in $new; do
      echo "fuzz/run.sh: $target: input saved as fuzz/artifacts/$target/$a" >&2
      echo "fuzz/run.sh:   keep it as a regression test: cp fuzz/artifacts/$target/$a fuzz/regressions/$target/" >&2
    done
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz/run.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz/run.sh: ${#targets[@]} targets, ${seconds}s each, no crash"
