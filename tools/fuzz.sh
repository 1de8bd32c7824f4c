#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, with AddressSanitizer and UndefinedBehaviorSanitizer) and
# runs each for SECONDS (default 60) from the seed corpus in tests/fuzz/corpus. A crash, a
# sanitizer report or a leak fails the run and leaves the input in build-fuzz/.
#   tools/fuzz.sh [SECONDS] [TARGET...]      targets: safetensors pth groundtruth init_box
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors pth groundtruth init_box)
out=build-fuzz
mkdir -p "$out"
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (apt-get install clang libclang-rt-14-dev)"; exit 1; }
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ilib)
sources=(lib/lorat/file_io.cpp lib/lorat/safetensors.cpp lib/lorat/pth.cpp lib/lorat/sequence.cpp lib/lorat/box.cpp)
for t in "${targets[@]}"; do
  clang++ "${flags[@]}" "tests/fuzz/fuzz_$t.cpp" "${sources[@]}" -o "$out/fuzz_$t"
done
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus_$t"
  echo "fuzz_$t: ${seconds}s"
  (cd "$out" && "./fuzz_$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    "corpus_$t" "../tests/fuzz/corpus/$t" 2>"fuzz_$t.log") || { tail -40 "$out/fuzz_$t.log"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_$t.log" | sed "s/^/  /"
done
echo "fuzzing: no crash in ${#targets[@]} target(s)"
