#!/usr/bin/env bash
# What bf16 costs in accuracy: the same model tracks the same sequences in fp32 and in bf16 (one
# pass each, `lorat eval`); prints each one's success AUC, how far the bf16 boxes are from the
# fp32 boxes frame by frame, and the speed of both.
#   tools/compare_precision.sh MODEL [SEQUENCE_DIR...]   (default: ../shared/data/sequences/*)
# THREADS (default 2). A tracker that drifts once keeps its own path afterwards, so the per-frame
# agreement counts every frame after the first disagreement too: it is the user-visible effect.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
model=${1:?usage: tools/compare_precision.sh MODEL [SEQUENCE_DIR...]}
shift
sequences=("$@")
[ ${#sequences[@]} -gt 0 ] || sequences=(../shared/data/sequences/*)
[ -f "$model" ] || { echo "compare_precision.sh: model '$model' not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for p in fp32 bf16; do
  "$build/tools/lorat" eval --sequences "${sequences[@]}" --model "$model" --precision "$p" --threads "${THREADS:-2}" \
    --output-dir "$tmp/$p" >"$tmp/$p.txt" 2>"$tmp/$p.err" || { cat "$tmp/$p.err" >&2; exit 1; }
done
printf '%-10s %8s %8s\n' precision AUC FPS
for p in fp32 bf16; do awk -v p="$p" '$1 == "lorat" && $2 == "ALL" { printf "%-10s %8s %8s\n", p, $4, $7 }' "$tmp/$p.txt"; done

# Per frame: IoU of the bf16 box with the fp32 box, and the shift of its centre in pixels.
printf '\n%-16s %7s %14s %14s %16s\n' sequence frames "mean IoU" "IoU>0.9" "max shift px"
for f in "$tmp"/fp32/lorat/*.csv; do
  name=$(basename "$f" .csv)
  awk -F, -v name="$name" 'NR == FNR { if (FNR > 1) { x[$1] = $2; y[$1] = $3; w[$1] = $4; h[$1] = $5 } next }
    FNR > 1 && ($1 in x) {
      ix = (($2 + $4 < x[$1] + w[$1]) ? $2 + $4 : x[$1] + w[$1]) - (($2 > x[$1]) ? $2 : x[$1])
      iy = (($3 + $5 < y[$1] + h[$1]) ? $3 + $5 : y[$1] + h[$1]) - (($3 > y[$1]) ? $3 : y[$1])
      inter = (ix > 0 && iy > 0) ? ix * iy : 0
      union = $4 * $5 + w[$1] * h[$1] - inter
      iou = union > 0 ? inter / union : 0
      dx = ($2 + $4 / 2) - (x[$1] + w[$1] / 2); dy = ($3 + $5 / 2) - (y[$1] + h[$1] / 2)
      d = sqrt(dx * dx + dy * dy)
      n++; sum += iou; if (iou > 0.9) close_n++; if (d > worst) worst = d
    }
    END { printf "%-16s %7d %14.4f %13.1f%% %16.2f\n", name, n, sum / n, 100 * close_n / n, worst }' "$f" "$tmp/bf16/lorat/$name.csv"
done
