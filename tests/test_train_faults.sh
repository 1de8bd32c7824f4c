#!/usr/bin/env bash
# Training under faults: SIGKILL at random moments (checkpointing every step, so many kills land
# during checkpoint writes), then --resume until done: "latest" must always name a complete
# checkpoint and the final losses and adapter must equal those of a run that never stopped. Then a
# full disk (a small tmpfs when this user may mount one; a per-file size limit, EFBIG, always): one
# clear error line, the previous checkpoint kept, and a resume with space completes.
# Usage: test_train_faults.sh LORAT_BINARY   (env: LORAT_TEST_DATA)
set -u
lorat=$1
data=${LORAT_TEST_DATA:-tests/data}
tmp=$(mktemp -d)
disk=""
cleanup() {
  [ -n "$disk" ] && umount "$disk" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
started=$SECONDS

run_args=(otb:"$data/sequences/Crossing10" --model "$tmp/m.safetensors" --steps 60 --batch 2 --checkpoint-every 1 --seed 3)
train() { "$lorat" train "${run_args[@]}" "$@"; }
losses() { grep -o '"loss":[^,]*' "$1/log.jsonl"; }
# Random milliseconds in [lo, hi] as seconds for sleep.
random_delay() { local ms=$(($1 + RANDOM % ($2 - $1 + 1))); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

# check_latest DIR WHAT: when DIR/latest exists, it names a complete step-N checkpoint that loads.
check_latest() {
  local d=$1 what=$2 name
  [ -e "$d/latest" ] || return 0
  name=$(cat "$d/latest")
  case $name in
    step-[0-9]*) ;;
    *) fail "$what: latest names '$name', not a step-N checkpoint"; return ;;
  esac
  [ -d "$d/checkpoints/$name" ] || { fail "$what: latest names $name, which does not exist"; return; }
  for f in trainable.safetensors optimizer.pt state.json; do
    [ -s "$d/checkpoints/$name/$f" ] || { fail "$what: $name/$f is missing or empty"; return; }
  done
  "$lorat" info "$d/checkpoints/$name/trainable.safetensors" >/dev/null 2>"$tmp/info.err" ||
    fail "$what: $name/trainable.safetensors does not load: $(cat "$tmp/info.err")"
  # A complete zip (torch::save) ends with its end-of-central-directory record.
  [ "$(tail -c 22 "$d/checkpoints/$name/optimizer.pt" | head -c 4 | od -An -tx1 | tr -d ' \n')" = 504b0506 ] ||
    fail "$what: $name/optimizer.pt is cut short"
  grep -q "\"step\":${name#step-}[,}]" "$d/checkpoints/$name/state.json" ||
    fail "$what: $name/state.json does not hold step ${name#step-}: $(cat "$d/checkpoints/$name/state.json")"
}

# same_as_straight DIR WHAT: the losses and the adapter equal the uninterrupted run's.
same_as_straight() {
  [ "$(losses "$1" | wc -l)" -eq 60 ] || fail "$2: $(losses "$1" | wc -l) steps logged, want 60"
  [ "$(losses "$tmp/straight")" = "$(losses "$1")" ] || fail "$2: the losses differ from the straight run's"
  cmp -s "$tmp/straight/adapter.safetensors" "$1/adapter.safetensors" || fail "$2: the adapter differs from the straight run's"
}

# stderr of a failed write: the report, the model line and progress lines, then one error line.
check_error_line() {
  local err=$1 what=$2 want=$3 other
  other=$(grep -vE '^(otb |model: |step [0-9]+/)' "$err")
  [ "$(printf '%s\n' "$other" | grep -c .)" -eq 1 ] || { fail "$what: expected one error line on stderr, got: $other"; return; }
  case $other in
    "lorat train: "*) ;;
    *) fail "$what: the error line does not start with 'lorat train:': $other" ;;
  esac
  [ "$(tail -1 "$err")" = "$other" ] || fail "$what: the error is not the last line of stderr"
  printf '%s\n' "$other" | grep -qE "$want" || fail "$what: the error does not match '$want': $other"
  echo "$what: $other"
}

"$lorat" new --variant T-112 --output "$tmp/m.safetensors" --seed 3 >/dev/null || { echo "FAIL: lorat new"; exit 1; }

# The reference: one run that never stops.
t0=$SECONDS
train --output "$tmp/straight" >/dev/null 2>"$tmp/err" || { echo "FAIL: straight run: $(tail -1 "$tmp/err")"; exit 1; }
[ "$(losses "$tmp/straight" | wc -l)" -eq 60 ] || { echo "FAIL: the straight run logged $(losses "$tmp/straight" | wc -l) steps"; exit 1; }
echo "straight run: $((SECONDS - t0)) s"

# Killed with SIGKILL again and again. Most kills wait for training to start (the "model:" line,
# printed once the checkpoint is loaded) and then a random 0.05-0.6 s, so they land in training
# steps and checkpoint writes; every fourth is a random 0.05-1.5 s after start, landing in start-up
# and in the resume itself (checkpoint load, log rewrite).
t0=$SECONDS
killed=$tmp/killed
kills=0 mid_write=0 runs=0 completed=0 max_kills=40
while :; do
  resume=()
  [ "$runs" -gt 0 ] && resume=(--resume)
  # Not through the train function: $! must be lorat itself, not a subshell that kill -9 would
  # leave it running behind.
  "$lorat" train "${run_args[@]}" --output "$killed" "${resume[@]}" >/dev/null 2>"$tmp/run.err" &
  pid=$!
  runs=$((runs + 1))
  if [ $((runs % 4)) -eq 0 ]; then
    sleep "$(random_delay 50 1500)"
  else
    for _ in $(seq 6000); do
      grep -q '^model: ' "$tmp/run.err" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.01
    done
    sleep "$(random_delay 50 600)"
  fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  if [ "$rc" -eq 0 ]; then
    completed=1
    break
  fi
  if [ "$rc" -ne 137 ]; then
    fail "run $runs failed by itself (exit $rc): $(tail -1 "$tmp/run.err")"
    break
  fi
  kills=$((kills + 1))
  compgen -G "$killed/checkpoints/.tmp-*" >/dev/null && mid_write=$((mid_write + 1))
  check_latest "$killed" "after kill $kills"
  [ "$kills" -ge "$max_kills" ] && break
done
if [ "$completed" -eq 0 ] && [ "$failures" -eq 0 ]; then
  # The kill budget is spent: finish without kills.
  train --output "$killed" --resume >/dev/null 2>"$tmp/run.err" || fail "the final resume failed: $(tail -1 "$tmp/run.err")"
  runs=$((runs + 1))
fi
check_latest "$killed" "after the killed runs"
[ -f "$killed/adapter.safetensors" ] && same_as_straight "$killed" "killed and resumed"
echo "SIGKILL: $kills kills ($mid_write during a checkpoint write), $runs runs, $((SECONDS - t0)) s"

# A damaged checkpoint named by latest (it should not happen): a warning, and the resume falls back
# to the newest complete one.
cp -r "$tmp/straight" "$tmp/damaged"
head -c 1000 "$tmp/straight/checkpoints/step-60/optimizer.pt" >"$tmp/damaged/checkpoints/step-60/optimizer.pt"
train --output "$tmp/damaged" --resume >/dev/null 2>"$tmp/err" || fail "damaged checkpoint: the resume failed: $(tail -1 "$tmp/err")"
grep -q "^warning: step-60 .*optimizer.pt.*resuming from .*step-59$" "$tmp/err" || fail "damaged checkpoint: no warning: $(cat "$tmp/err")"
grep -q "from step 59 of 60" "$tmp/err" || fail "damaged checkpoint: did not resume from step 59: $(grep '^model:' "$tmp/err")"
same_as_straight "$tmp/damaged" "damaged checkpoint, resumed"
check_latest "$tmp/damaged" "damaged checkpoint, resumed"
echo "damaged checkpoint: $(grep -c '^warning: ' "$tmp/err") warning, resumed from the previous one"

# A full disk while a checkpoint is written: a tmpfs that holds two checkpoints and the logs but
# not a third (checkpoints keep the current and the previous one, and the next is written beside).
ckpt_kb=$(du -sk "$tmp/straight/checkpoints/step-60" | cut -f1)
mkdir -p "$tmp/disk"
if mount -t tmpfs -o size=$((ckpt_kb * 5 / 2 + 150))k tmpfs "$tmp/disk" 2>/dev/null; then
  disk=$tmp/disk
  t0=$SECONDS
  full=$disk/run
  train --output "$full" >/dev/null 2>"$tmp/full.err"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    fail "full disk: the run exited 0"
  elif [ "$rc" -ne 1 ]; then
    fail "full disk: exit $rc (a crash?): $(grep -v '^frame #' "$tmp/full.err" | tail -3)"
  fi
  check_error_line "$tmp/full.err" "full disk" "$full/.*: cannot write \(No space left on device\)"
  [ -e "$full/latest" ] || fail "full disk: no checkpoint before the disk filled (tmpfs too small?)"
  check_latest "$full" "full disk"
  compgen -G "$full/checkpoints/.tmp-*" >/dev/null && fail "full disk: the failed checkpoint's temporary folder was left: $(ls -a "$full/checkpoints")"
  kept=$(cat "$full/latest" 2>/dev/null)
  mount -o remount,size=64m "$disk" || fail "full disk: cannot grow the tmpfs"
  train --output "$full" --resume >/dev/null 2>"$tmp/err" || fail "full disk: the resume with space failed: $(tail -1 "$tmp/err")"
  grep -q "from step ${kept#step-} of 60" "$tmp/err" || fail "full disk: the resume did not start from $kept: $(grep '^model:' "$tmp/err")"
  same_as_straight "$full" "full disk, resumed"
  echo "full disk (tmpfs): stopped after $kept, resumed from it, $((SECONDS - t0)) s"
  umount "$disk" || fail "cannot unmount $disk"
  disk=""
else
  echo "SKIP: cannot mount a tmpfs here; full disk checked with a file size limit only"
fi

# A file size limit (EFBIG, SIGXFSZ ignored) below the optimiser state's size: the first checkpoint
# cannot be written. One error line, no checkpoint named, and a resume without the limit completes.
t0=$SECONDS
opt_kb=$(($(stat -c %s "$tmp/straight/checkpoints/step-60/optimizer.pt") / 1024))
big=$tmp/fsize
(
  trap '' XFSZ
  ulimit -f $((opt_kb * 3 / 4))
  train --output "$big"
) >/dev/null 2>"$tmp/fsize.err"
rc=$?
if [ "$rc" -ne 1 ]; then
  fail "file size limit: exit $rc, want 1: $(grep -v '^frame #' "$tmp/fsize.err" | tail -3)"
else
  check_error_line "$tmp/fsize.err" "file size limit" "$big/.*optimizer\.pt: cannot write \(File too large\)"
fi
[ -e "$big/latest" ] && fail "file size limit: latest exists though no checkpoint could be written"
check_latest "$big" "file size limit"
compgen -G "$big/checkpoints/.tmp-*" >/dev/null && fail "file size limit: the failed checkpoint's temporary folder was left"
train --output "$big" --resume >/dev/null 2>"$tmp/err" || fail "file size limit: the run without the limit failed: $(tail -1 "$tmp/err")"
same_as_straight "$big" "file size limit, rerun"
echo "file size limit: $((SECONDS - t0)) s"

if [ "$failures" -eq 0 ]; then
  echo "training faults passed: $kills SIGKILLs ($mid_write during a checkpoint write) over $runs runs, resumed OK; full disk handled; $((SECONDS - started)) s"
fi
exit "$failures"
