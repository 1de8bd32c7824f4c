#!/usr/bin/env bash
# Does a LoRA adapter trained on real footage make its base model better on frames it never saw?
# Each sequence of ../shared/data/sequences (bag, Crossing, Couple) is cut in two: an adapter is
# trained on the first halves, and base and base + adapter are evaluated on the second halves
# (initialised from the first box of the second half), in one lorat eval run each.
#   tools/adapter_demo.sh BASE_MODEL [WORK_DIR] [STEPS]     (default WORK_DIR /tmp/lorat-adapter-demo, 300 steps; THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: tools/adapter_demo.sh BASE_MODEL [WORK_DIR] [STEPS]}
work=${2:-${TMPDIR:-/tmp}/lorat-adapter-demo}
steps=${3:-300}
threads=${THREADS:-2}
lorat=${LORAT:-build/tools/lorat}
shared=${LORAT_SHARED_DATA:-../shared/data}/sequences
[ -f "$base" ] || { echo "adapter_demo.sh: base model '$base' not found" >&2; exit 1; }
[ -d "$shared" ] || { echo "adapter_demo.sh: $shared not found (the shared tracking sequences)" >&2; exit 1; }

# half SEQ GT_FILE FIRST LAST DEST: frames FIRST..LAST (1-based) as a sequence of its own.
half() {
  local seq=$1 gt=$2 first=$3 last=$4 dest=$5
  rm -rf "$dest" && mkdir -p "$dest/img"
  local files=("$shared/$seq"/img/*.jpg) i
  for ((i = first; i <= last; i++)); do
    ln -s "$(realpath "${files[$((i - 1))]}")" "$dest/img/$(printf %08d $((i - first + 1))).jpg"
  done
  sed -n "${first},${last}p" "$shared/$seq/$gt" >"$dest/$gt"
}
for seq in bag Crossing Couple; do
  gt=groundtruth_rect.txt
  [ -f "$shared/$seq/$gt" ] || gt=groundtruth.txt
  n=$(grep -c . "$shared/$seq/$gt")
  half "$seq" "$gt" 1 $((n / 2)) "$work/first/$seq"
  half "$seq" "$gt" $((n / 2 + 1)) "$n" "$work/second/$seq"
done

"$lorat" train otb:"$work/first/Crossing" otb:"$work/first/Couple" vot:"$work/first/bag" --model "$base" \
  --output "$work/adapter" --steps "$steps" --batch 32 --lr 5e-4 --weight-decay 0.05 --warmup 20 --workers 1 --seed 3 \
  --threads "$threads" --checkpoint-every 100 $([ -e "$work/adapter/latest" ] && echo --resume)
for model in base adapter; do
  adapter=()
  [ $model = adapter ] && adapter=(--adapter "$work/adapter/adapter.safetensors")
  echo "== $model, second halves"
  "$lorat" eval --sequences "$work/second/bag" "$work/second/Crossing" "$work/second/Couple" --model "$base" "${adapter[@]}" \
    --threads "$threads" --output-dir "$work/eval-$model"
done
