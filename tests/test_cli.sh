#!/usr/bin/env bash
# The lorat command end to end: a random model, tracking a sequence, info, and the one-line errors.
# Usage: test_cli.sh LORAT_BINARY   (env: LORAT_TEST_DATA, LORAT_SHARED_DATA)
set -u
lorat=$1
data=${LORAT_TEST_DATA:-tests/data}
shared=${LORAT_SHARED_DATA:-../shared/data}
tmp=$(mktemp -d)
trap 'jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$tmp"' EXIT  # no background run outlives the test
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect_error "what" substring command...: exits non-zero with one line of stderr containing substring.
expect_error() {
  local what=$1 want=$2
  shift 2
  if "$@" >"$tmp/out" 2>"$tmp/err"; then fail "$what: exited 0"; return; fi
  grep -qF -- "$want" "$tmp/err" || fail "$what: stderr lacks '$want': $(cat "$tmp/err")"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$what: error is not one line: $(cat "$tmp/err")"
}

"$lorat" new --variant T-112 --output "$tmp/m.safetensors" --seed 3 >/dev/null || fail "lorat new"
"$lorat" info "$tmp/m.safetensors" | grep -q "gst-lorat model bundle" || fail "lorat info"

# Track the bundled 10 frames; one row per frame plus the header.
"$lorat" track "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --output "$tmp/boxes.csv" 2>"$tmp/err" || fail "track: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/boxes.csv")" -eq 11 ] || fail "track wrote $(wc -l <"$tmp/boxes.csv") lines, want 11"
grep -q "FPS" "$tmp/err" || fail "track printed no FPS"
head -2 "$tmp/boxes.csv" | tail -1 | grep -q "^0,204.0000,150.0000,17.0000,50.0000," || fail "frame 0 is not the 0-based first ground-truth box: $(sed -n 2p "$tmp/boxes.csv")"
awk -F, 'NR > 1 && ($4 <= 0 || $5 <= 0 || $2 < 0 || $3 < 0 || $2 + $4 > 360.01 || $3 + $5 > 240.01) { bad = 1 } END { exit bad }' "$tmp/boxes.csv" || fail "a box left the 360x240 frame"
"$lorat" track "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --init 100,100,20,30 --frames 3 --precision bf16 >"$tmp/init.csv" 2>/dev/null || fail "track --init --precision bf16"
grep -q "^0,100.0000,100.0000,20.0000,30.0000," "$tmp/init.csv" || fail "--init not used"
[ "$(wc -l <"$tmp/init.csv")" -eq 4 ] || fail "--frames 3 gave $(wc -l <"$tmp/init.csv") lines"

# Without --model, track runs the default model: starter/starter.safetensors, first looked for in
# $LORAT_MODELS_DIR; the same boxes as the same file given with --model.
mkdir -p "$tmp/models/starter"
"$lorat" new --variant T-112 --output "$tmp/models/starter/starter.safetensors" --seed 5 >/dev/null || fail "lorat new (starter)"
LORAT_MODELS_DIR="$tmp/models" env -u LORAT_DEFAULT_MODEL "$lorat" track "$data/sequences/Crossing10" --frames 4 \
  >"$tmp/default.csv" 2>"$tmp/err" || fail "track with the default model: $(cat "$tmp/err")"
grep -qF "default model $tmp/models/starter/starter.safetensors" "$tmp/err" || fail "track did not say it used the default model: $(cat "$tmp/err")"
"$lorat" track "$data/sequences/Crossing10" --frames 4 --model "$tmp/models/starter/starter.safetensors" >"$tmp/explicit.csv" 2>/dev/null ||
  fail "track --model starter"
[ "$(wc -l <"$tmp/default.csv")" -eq 5 ] || fail "track with the default model wrote $(wc -l <"$tmp/default.csv") lines, want 5"
cmp -s "$tmp/default.csv" "$tmp/explicit.csv" || fail "the default model's boxes differ from --model with the same file"

# merge --size-update-rate stores the tracker's size smoothing in the bundle: info shows it, and
# the tracked boxes change.
"$lorat" merge --model "$tmp/m.safetensors" --output "$tmp/smooth.safetensors" --size-update-rate 0.2 >/dev/null || fail "merge --size-update-rate"
"$lorat" info "$tmp/smooth.safetensors" | grep -q '"size_update_rate":0.2' || fail "info does not show size_update_rate 0.2: $("$lorat" info "$tmp/smooth.safetensors")"
"$lorat" track "$data/sequences/Crossing10" --model "$tmp/smooth.safetensors" --output "$tmp/smooth.csv" 2>/dev/null || fail "track the smoothed bundle"
cmp -s "$tmp/boxes.csv" "$tmp/smooth.csv" && fail "size_update_rate 0.2 tracked the same boxes as 1"
# track --size-update-rate replaces the bundle's: 1 on the smoothed bundle gives the plain boxes.
"$lorat" track "$data/sequences/Crossing10" --model "$tmp/smooth.safetensors" --size-update-rate 1 --output "$tmp/unsmoothed.csv" 2>/dev/null ||
  fail "track --size-update-rate 1"
cmp -s <(cut -d, -f1-5 "$tmp/boxes.csv") <(cut -d, -f1-5 "$tmp/unsmoothed.csv") || fail "track --size-update-rate 1 on the smoothed bundle is not the plain tracker"
expect_error "track bad size-update-rate" "--size-update-rate must be in (0, 1]" "$lorat" track "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --size-update-rate 2
expect_error "merge bad size-update-rate" "--size-update-rate must be in (0, 1]" "$lorat" merge --model "$tmp/m.safetensors" --output "$tmp/bad.safetensors" --size-update-rate 0
[ -e "$tmp/bad.safetensors" ] && fail "a refused merge wrote its output"

# Evaluation: the model and a baseline on the bundled sequence, one table row each plus ALL.
"$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --baseline kcf >"$tmp/eval.txt" 2>/dev/null || fail "eval"
grep -q "^lorat  *Crossing10  *10 " "$tmp/eval.txt" || fail "eval has no lorat row for Crossing10: $(cat "$tmp/eval.txt")"
grep -q "^kcf  *ALL " "$tmp/eval.txt" || fail "eval has no kcf ALL row"
# --starts 2: passes from frames 0 and 5 (10 + 5 frames scored), boxes of the second pass in
# Crossing10-from-5.csv starting at frame 5's ground truth; the pooled AUC is what both files score
# against the ground truth (computed here independently).
"$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --baseline kcf --starts 2 --output-dir "$tmp/starts" >"$tmp/starts.txt" 2>/dev/null || fail "eval --starts 2"
grep -q "^lorat  *Crossing10  *15 " "$tmp/starts.txt" || fail "eval --starts 2 has no 15-frame lorat row: $(cat "$tmp/starts.txt")"
grep -q "^5,198,149,17,46$" "$tmp/starts/kcf/Crossing10-from-5.csv" 2>/dev/null ||
  fail "the second pass does not start at frame 5's 0-based ground truth: $(head -2 "$tmp/starts/kcf/Crossing10-from-5.csv")"
auc=$(cat "$tmp/starts/kcf/Crossing10.csv" "$tmp/starts/kcf/Crossing10-from-5.csv" | tr -s ' \t' ',' | awk -F, -v gt="$data/sequences/Crossing10/groundtruth_rect.txt" '
  BEGIN { while ((getline line <gt) > 0) { split(line, g, /[ \t,]+/); n++; x[n - 1] = g[1] - 1; y[n - 1] = g[2] - 1; w[n - 1] = g[3]; h[n - 1] = g[4] } }
  $1 ~ /^[0-9]+$/ { f = $1; iw = ($2 + $4 < x[f] + w[f] ? $2 + $4 : x[f] + w[f]) - ($2 > x[f] ? $2 : x[f])
    ih = ($3 + $5 < y[f] + h[f] ? $3 + $5 : y[f] + h[f]) - ($3 > y[f] ? $3 : y[f]); i = (iw > 0 && ih > 0) ? iw * ih : 0
    o = i / ($4 * $5 + w[f] * h[f] - i); for (k = 0; k <= 20; k++) s += (o > k / 20) ? 1 : 0; m++ }
  END { printf "%.4f", s / (21 * m) }')
awk -v want="$auc" '/^kcf  *Crossing10 / { found = 1; ok = $3 == 15 && ($4 - want) ^ 2 < 1e-6 } END { exit !(found && ok) }' "$tmp/starts.txt" ||
  fail "eval --starts 2: kcf's pooled row is not what its two passes score ($auc over 15 frames): $(cat "$tmp/starts.txt")"
expect_error "starts zero" "option --starts must be an integer from 1 to 1000" "$lorat" eval --sequences "$data/sequences" --baseline kcf --starts 0
expect_error "starts with one-step" "--one-step scores the model alone" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --starts 2
# --one-step: the model's rows, and the previous-box rows, whose IoU is the ground truth's own
# frame-to-frame overlap (computed here independently).
"$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step >"$tmp/one.txt" 2>/dev/null || fail "eval --one-step"
grep -q "^lorat  *Crossing10  *9 " "$tmp/one.txt" || fail "eval --one-step has no 9-step lorat row: $(cat "$tmp/one.txt")"
want=$(tr -s ' \t' ',' <"$data/sequences/Crossing10/groundtruth_rect.txt" | awk -F, 'NR > 1 {
  iw = ($1 + $3 < x + w ? $1 + $3 : x + w) - ($1 > x ? $1 : x); ih = ($2 + $4 < y + h ? $2 + $4 : y + h) - ($2 > y ? $2 : y)
  i = (iw > 0 && ih > 0) ? iw * ih : 0; s += i / ($3 * $4 + w * h - i); n++ }
  { x = $1; y = $2; w = $3; h = $4 } END { printf "%.3f", s / n }')
grep -q "^previous-box  *ALL  *9  *$want " "$tmp/one.txt" || fail "previous-box IoU is not the ground truth's own ($want): $(cat "$tmp/one.txt")"
# The same sequence twice scores the same twice: nothing of the first carries into the second.
"$lorat" eval --sequences "$data/sequences/Crossing10" "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --one-step >"$tmp/twice.txt" 2>/dev/null || fail "eval --one-step twice"
[ "$(grep -c "^lorat  *Crossing10 " "$tmp/twice.txt")" -eq 2 ] && [ "$(grep "^lorat  *Crossing10 " "$tmp/twice.txt" | sort -u | wc -l)" -eq 1 ] ||
  fail "eval --one-step scored one sequence differently the second time: $(cat "$tmp/twice.txt")"
# --search-scale 2 searches around a box twice the size: the model's answers change, the
# previous-box rows do not.
"$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --search-scale 2 >"$tmp/scaled.txt" 2>/dev/null || fail "eval --one-step --search-scale"
cmp -s <(grep "^previous-box" "$tmp/one.txt") <(grep "^previous-box" "$tmp/scaled.txt") || fail "--search-scale changed the previous-box rows"
cmp -s <(grep "^lorat" "$tmp/one.txt") <(grep "^lorat" "$tmp/scaled.txt") && fail "--search-scale 2 changed none of the model's answers"
# --follow: the change of the mean size ratios from --search-scale 0.77 to 1.3, over log(1.3 / 0.77),
# as the two runs' own ALL rows give it (they print 3 decimals, hence the tolerance).
"$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --follow >"$tmp/follow.txt" 2>/dev/null || fail "eval --one-step --follow"
for k in 0.77 1.3; do
  "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --search-scale $k 2>/dev/null | grep "^lorat  *ALL " >>"$tmp/scales.txt"
done
awk 'NR == FNR { w[FNR] = $5; h[FNR] = $6; next } /^lorat  *ALL / { d = log(1.3 / 0.77); fw = (w[2] - w[1]) / d; fh = (h[2] - h[1]) / d
  ok = (fw - $4) ^ 2 < 1e-4 && (fh - $5) ^ 2 < 1e-4; found = 1 } END { exit !(found && ok) }' "$tmp/scales.txt" "$tmp/follow.txt" ||
  fail "--follow is not the size change between --search-scale 0.77 and 1.3: $(cat "$tmp/follow.txt" "$tmp/scales.txt")"
# --reach: the search is moved a quarter box off the previous truth, diagonals in turn. The
# previous-box row's reach is pure geometry, so it is computed here from the ground truth alone.
"$lorat" eval --sequences "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --one-step --reach >"$tmp/reach.txt" 2>/dev/null || fail "eval --one-step --reach"
# A random model answers at a fixed place in the crop, so it does not follow the shifted target.
awk '/^lorat  *ALL  *9 / { found = 1; ok = $4 < 0.5 } END { exit !(found && ok) }' "$tmp/reach.txt" ||
  fail "--reach: a random model should not follow the target (reach under 0.5): $(cat "$tmp/reach.txt")"
awk 'NR == FNR { fx[FNR] = $1 + $3 / 2; fy[FNR] = $2 + $4 / 2; a[FNR] = $3 * $4; n = FNR; next }
  /^previous-box  *ALL / { for (t = 2; t <= n; ++t) { k = t - 2; d = 0.25 * sqrt(a[t - 1])
      cx = fx[t - 1] + ((k % 4 == 0 || k % 4 == 3) ? d : -d); cy = fy[t - 1] + (k % 4 < 2 ? d : -d)
      ox = fx[t] - cx; oy = fy[t] - cy; moved += ((fx[t - 1] - cx) * ox + (fy[t - 1] - cy) * oy) / a[t - 1]; off += (ox * ox + oy * oy) / a[t - 1] }
    want = moved / off; found = 1; ok = (want - $4) ^ 2 < 4e-5 }
  END { exit !(found && ok) }' "$data/sequences/Crossing10/groundtruth_rect.txt" "$tmp/reach.txt" ||
  fail "--reach of the previous box is not the geometry of its shifted searches: $(cat "$tmp/reach.txt")"
expect_error "reach without one-step" "--reach is a --one-step option" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --reach
expect_error "reach with follow" "--reach searches at the previous box's size" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --reach --follow
expect_error "follow without one-step" "--follow is a --one-step option" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --follow
expect_error "follow with search-scale" "--follow sets its own search scales" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --follow --search-scale 2
expect_error "search-scale without one-step" "--search-scale is a --one-step option" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --search-scale 2
expect_error "search-scale zero" "--search-scale must be a positive factor" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --search-scale 0
expect_error "search-scale not a number" "option --search-scale must be a number" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --search-scale big
expect_error "one-step with baseline" "--one-step scores the model alone" "$lorat" eval --sequences "$data/sequences" --model "$tmp/m.safetensors" --one-step --baseline kcf
expect_error "eval bad baseline" "--baseline takes csrt and/or kcf" "$lorat" eval --sequences "$data/sequences" --baseline mosse

# Training: a LoRA adapter on the bundled sequence; a run killed with SIGKILL and resumed gives the
# same losses and the same adapter as one that never stopped.
train_args=(otb:"$data/sequences/Crossing10" --model "$tmp/m.safetensors" --batch 2 --checkpoint-every 5 --seed 3)
train() { "$lorat" train "${train_args[@]}" --steps 40 "$@"; }
train --output "$tmp/straight" >/dev/null 2>"$tmp/err" || fail "train: $(tail -1 "$tmp/err")"
[ -f "$tmp/straight/adapter.safetensors" ] || fail "train wrote no adapter"
# Not through the train function: $! must be lorat itself, not a subshell whose SIGKILL would leave
# lorat running beside the resumed run.
"$lorat" train "${train_args[@]}" --steps 40 --output "$tmp/killed" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -f "$tmp/killed/latest" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
train --output "$tmp/killed" --resume >/dev/null 2>"$tmp/err" || fail "train --resume: $(tail -1 "$tmp/err")"
losses() { grep -o '"loss":[^,]*' "$1/log.jsonl"; }
[ "$(losses "$tmp/straight" | wc -l)" -eq 40 ] || fail "the straight run logged $(losses "$tmp/straight" | wc -l) steps"
[ "$(losses "$tmp/straight")" = "$(losses "$tmp/killed")" ] || fail "the resumed run's losses differ from the straight run's"
cmp -s "$tmp/straight/adapter.safetensors" "$tmp/killed/adapter.safetensors" || fail "the resumed run's adapter differs"
"$lorat" track "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --adapter "$tmp/straight/adapter.safetensors" --frames 3 >/dev/null 2>&1 ||
  fail "track with the trained adapter"
# Two runs in one output folder would delete each other's checkpoints: the second is refused while
# the first lives, and the folder is free again once the first is killed.
"$lorat" train "${train_args[@]}" --steps 100000 --output "$tmp/busy" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 400); do [ -f "$tmp/busy/latest" ] && break; sleep 0.05; done
[ -f "$tmp/busy/latest" ] || fail "the long run wrote no checkpoint"
# (The refusal comes once the data is read, so the last line is the error.)
if "$lorat" train "${train_args[@]}" --steps 40 --output "$tmp/busy" --resume >/dev/null 2>"$tmp/err"; then fail "train into a busy folder: exited 0"
else tail -1 "$tmp/err" | grep -qF "lorat train: $tmp/busy: another lorat train (pid $pid) is writing this folder" ||
  fail "train into a busy folder: $(cat "$tmp/err")"; fi
[ -f "$tmp/busy/checkpoints/$(cat "$tmp/busy/latest")/state.json" ] || fail "the refused run damaged the busy run's checkpoint"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
train --output "$tmp/busy" --stop-after 2 >/dev/null 2>"$tmp/err" || fail "train into the folder a killed run held: $(tail -1 "$tmp/err")"
expect_error "train bad dataset" "expected KIND:PATH" "$lorat" train "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --output "$tmp/x"
expect_error "train missing dataset" "$tmp/none" "$lorat" train otb:"$tmp/none" --model "$tmp/m.safetensors" --output "$tmp/x"
expect_error "train aspect jitter" "--aspect-jitter must be between 0 and 1" "$lorat" train otb:"$data/sequences/Crossing10" --model "$tmp/m.safetensors" --output "$tmp/x" --aspect-jitter 2
expect_error "train lr not a number" "option --lr must be a number" "$lorat" train otb:"$data/sequences/Crossing10" --model "$tmp/m.safetensors" --output "$tmp/x" --lr fast

# Errors a user can make: one line naming what is wrong.
expect_error "missing model" "$tmp/nope.safetensors" "$lorat" track "$data/sequences/Crossing10" --model "$tmp/nope.safetensors"
expect_error "missing sequence" "$tmp/noseq" "$lorat" track "$tmp/noseq" --model "$tmp/m.safetensors"
mkdir -p "$tmp/nogt/img" && cp "$data/sequences/Crossing10/img/0001.jpg" "$tmp/nogt/img/"
expect_error "no ground truth" "--init" "$lorat" track "$tmp/nogt" --model "$tmp/m.safetensors"
expect_error "empty box" "width and height must be positive" "$lorat" track "$tmp/nogt" --model "$tmp/m.safetensors" --init 5,5,0,9
expect_error "box outside" "outside the 360x240 frame" "$lorat" track "$tmp/nogt" --model "$tmp/m.safetensors" --init 500,5,10,9
expect_error "bad precision" "--precision must be" "$lorat" track "$tmp/nogt" --model "$tmp/m.safetensors" --init 5,5,9,9 --precision fp64
expect_error "unknown option" "unknown option --modle" "$lorat" track "$tmp/nogt" --modle "$tmp/m.safetensors"
# No --model and no default model ($LORAT_DEFAULT_MODEL replaces the search, so the source tree's
# starter model, once there, does not hide this): one line naming where it looked.
expect_error "no model" "no model" env LORAT_DEFAULT_MODEL="$tmp/none/starter.safetensors" "$lorat" track "$tmp/nogt" --init 5,5,9,9
expect_error "no default model says where it looked" "$tmp/none/starter.safetensors" \
  env LORAT_DEFAULT_MODEL="$tmp/none/starter.safetensors" "$lorat" track "$tmp/nogt" --init 5,5,9,9
# lorat synth with what the repository has (photos, a clip; no clip-art): GOT-10k folders that
# train reads, ground truth inside the frame; and its errors.
clip="$(dirname "$0")/../pipelines/data/bag.avi"
mkdir -p "$tmp/no-clipart"
"$lorat" synth --output "$tmp/syn" --sequences 4 --frames 6 --size 160x120 --clipart "$tmp/no-clipart" --photos "$data/sequences/Crossing10" \
  --videos "$clip" --motion-videos "$clip" --threads 2 >"$tmp/out" 2>"$tmp/err" || fail "synth: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/syn/synth/list.txt")" -eq 4 ] || fail "synth listed $(wc -l <"$tmp/syn/synth/list.txt") sequences, want 4"
cat "$tmp"/syn/synth/*/groundtruth.txt | awk -F, '$1 < 0 || $2 < 0 || $1 + $3 > 160 || $2 + $4 > 120 { bad = 1 } END { exit bad || NR != 24 }' ||
  fail "synth ground truth outside the 160x120 frame or not 24 rows"
"$lorat" train got10k:"$tmp/syn/synth" --model "$tmp/m.safetensors" --output "$tmp/syn-run" --steps 2 --batch 2 >/dev/null 2>"$tmp/err" ||
  fail "train on synth output: $(cat "$tmp/err")"
expect_error "synth missing video" "apt-get install openclipart-png opencv-doc python3-skimage" "$lorat" synth --output "$tmp/s2" --videos "$tmp/none.avi"
expect_error "synth bad size" "--size must be WIDTHxHEIGHT" "$lorat" synth --output "$tmp/s2" --size 10x10
expect_error "synth bad cut-out share" "--cutout-share must be between 0 and 1, not 2" "$lorat" synth --output "$tmp/s2" --cutout-share 2
expect_error "synth cut-out share not a number" "--cutout-share" "$lorat" synth --output "$tmp/s2" --cutout-share half

# bench: a row for 1 target and one for N; --no-unmerged (tools/bench_gpu.sh) leaves out the
# unmerged-LoRA timing and nothing else.
"$lorat" bench --model "$tmp/m.safetensors" --frames 1 --targets 2 --precision fp32 >"$tmp/bench.txt" 2>&1 || fail "bench: $(cat "$tmp/bench.txt")"
[ "$(awk 'NF == 8 && ($1 == "1" || $1 == "2")' "$tmp/bench.txt" | wc -l)" -eq 2 ] || fail "bench has no rows for 1 and 2 targets: $(cat "$tmp/bench.txt")"
grep -q "^unmerged LoRA" "$tmp/bench.txt" || fail "bench did not time unmerged LoRA"
"$lorat" bench --model "$tmp/m.safetensors" --frames 1 --targets 2 --precision fp32 --no-unmerged >"$tmp/bench2.txt" 2>&1 || fail "bench --no-unmerged"
grep -q "^unmerged LoRA" "$tmp/bench2.txt" && fail "bench --no-unmerged still timed unmerged LoRA"
[ "$(awk 'NF == 8 && ($1 == "1" || $1 == "2")' "$tmp/bench2.txt" | wc -l)" -eq 2 ] || fail "bench --no-unmerged lost its rows"

# --stop-after: the run stops there, checkpointed, with the schedule of --steps; --resume goes on.
"$lorat" train otb:"$data/sequences/Crossing10" --model "$tmp/m.safetensors" --output "$tmp/stop" --steps 6 --stop-after 3 --batch 2 \
  --checkpoint-every 100 >/dev/null 2>"$tmp/err" || fail "train --stop-after: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/stop/log.jsonl")" -eq 3 ] && [ -d "$tmp/stop/checkpoints/step-3" ] || fail "--stop-after 3 did not stop at step 3, checkpointed"
"$lorat" train otb:"$data/sequences/Crossing10" --model "$tmp/m.safetensors" --output "$tmp/stop" --steps 6 --batch 2 --resume \
  --checkpoint-every 100 >/dev/null 2>"$tmp/err" || fail "train --resume after --stop-after: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/stop/log.jsonl")" -eq 6 ] || fail "resume after --stop-after did not run steps 4-6"

# --model with --variant: the bundle's weights at another variant's crop sizes; a variant of
# another shape is refused in one line.
sed 's/"template_size": 56/"template_size": 42/; s/"search_size": 112/"search_size": 84/' "$(dirname "$0")/../models/T-112.json" >"$tmp/T-84.json"
"$lorat" track "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --variant "$tmp/T-84.json" --output "$tmp/t84.csv" 2>"$tmp/err" ||
  fail "track --model --variant: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/t84.csv")" -eq 11 ] || fail "track --model --variant wrote $(wc -l <"$tmp/t84.csv") lines"
expect_error "variant of another shape" "does not fit" "$lorat" track "$data/sequences/Crossing10" --model "$tmp/m.safetensors" --variant S-224

expect_error "unknown variant" "unknown model variant" "$lorat" new --variant Q-1 --output "$tmp/q.safetensors"

# A model grown deeper (blocks added at LayerScale 0) gives the same boxes; opened, it does not.
boxes() { "$lorat" track "$data/sequences/Crossing10" --model "$1" --frames 4 --precision fp32 --threads 1 --output "$2" 2>/dev/null || fail "track $1"; }
"$lorat" new --model "$tmp/m.safetensors" --depth 4 --output "$tmp/deeper.safetensors" >/dev/null || fail "new --model --depth"
"$lorat" info "$tmp/deeper.safetensors" | grep -q "blocks: 4" || fail "new --model --depth 4: not 4 blocks"
"$lorat" new --model "$tmp/m.safetensors" --depth 4 --layer-scale 1 --output "$tmp/opened.safetensors" >/dev/null || fail "new --layer-scale"
boxes "$tmp/m.safetensors" "$tmp/shallow.csv"
boxes "$tmp/deeper.safetensors" "$tmp/deeper.csv"
boxes "$tmp/opened.safetensors" "$tmp/opened.csv"
cmp -s "$tmp/shallow.csv" "$tmp/deeper.csv" || fail "grown model: boxes changed"
cmp -s "$tmp/shallow.csv" "$tmp/opened.csv" && fail "grown model at layer scale 1: the same boxes"
expect_error "grow to fewer blocks" "blocks can be added, not removed" "$lorat" new --model "$tmp/m.safetensors" --depth 1 --output "$tmp/q.safetensors"
expect_error "grow with a variant" "do not go together" "$lorat" new --model "$tmp/m.safetensors" --variant T-112 --output "$tmp/q.safetensors"
printf 'garbage' >"$tmp/bad.safetensors"
expect_error "truncated model" "$tmp/bad.safetensors" "$lorat" info "$tmp/bad.safetensors"

# The authors' files through the CLI give the authors' boxes (../shared only). The reference is
# fp32; on a CPU with bf16 products --precision auto would pick bf16 and drift from it.
ref=$shared/lorat-reference
if [ -d "$ref" ] && [ -d "$shared/sequences/Couple" ]; then
  "$lorat" track "$shared/sequences/Couple" --variant S-224 --base "$ref/base.pth" --adapter "$ref/lorat.safetensors" \
    --precision fp32 --frames 20 --output "$tmp/couple.csv" 2>"$tmp/err" || fail "track with the authors' files: $(cat "$tmp/err")"
  worst=$(awk -F, 'NR == FNR { if (FNR > 1) { x[$1] = $3; y[$1] = $4; w[$1] = $5; h[$1] = $6 } next }
    FNR > 1 { for (i = 2; i <= 5; ++i) { e = (i == 2 ? x[$1] : i == 3 ? y[$1] : i == 4 ? w[$1] : h[$1]); d = $i - e; if (d < 0) d = -d; if (d > m) m = d } }
    END { print m + 0 }' "$ref/tracking/Couple.csv" "$tmp/couple.csv")
  awk -v w="$worst" 'BEGIN { exit !(w < 1e-3) }' || fail "authors' boxes differ by $worst px"
  echo "authors' files via the CLI: worst difference $worst px over 20 frames"
  # Merged into one bundle, the same boxes.
  "$lorat" merge --variant S-224 --base "$ref/base.pth" --adapter "$ref/lorat.safetensors" --output "$tmp/ref.safetensors" >/dev/null || fail "merge"
  "$lorat" track "$shared/sequences/Couple" --model "$tmp/ref.safetensors" --precision fp32 --frames 20 --output "$tmp/couple_bundle.csv" 2>/dev/null || fail "track the merged bundle"
  cmp -s "$tmp/couple.csv" "$tmp/couple_bundle.csv" || fail "the merged bundle tracks differently from the authors' files"
else
  echo "SKIP: ../shared/data/lorat-reference not present"
fi

[ "$failures" -eq 0 ] && echo "all CLI checks passed"
exit "$failures"
