#!/bin/sh
# Kill safety (issue #12): `troupe scene` and `troupe eval` killed with SIGKILL at several points and
# rerun end with complete outputs, equal to an uninterrupted run's, with nothing lost or duplicated
# (every file is written to a temporary name and renamed; the eval journal resumes by case id).
set -eu
BIN="$1"; PLUGINS="$2"; EVALPLUGINS="$3"; EVALFIXTURES="$4"; OUT="$5"
rm -rf "$OUT"; mkdir -p "$OUT"
fail() { echo "FAIL: $*"; exit 1; }
# delays DIR-of-a-timed-run: kill points spread over the measured length of an uninterrupted run
# (startup, plugin loading, the cases or lines, the final reports), so they land at different steps
# however fast the machine is.
timed() {  # timed CMD...: runs CMD, sets ELAPSED (seconds, float)
  t0=$(date +%s%N); "$@" || fail "uninterrupted run: $*"; t1=$(date +%s%N)
  ELAPSED=$(python3 -c "print(($t1 - $t0) / 1e9)")
}
delays() { python3 -c "print(' '.join(f'{$1 * f:.2f}' for f in (0.15, 0.35, 0.55, 0.75, 0.9, 0.98)))"; }

# kill_after DELAY CMD...: starts CMD, sends SIGKILL after DELAY seconds (if still running).
kill_after() {
  d=$1; shift
  "$@" > /dev/null 2>&1 &
  pid=$!
  sleep "$d"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
}

# ---- scene: fixed lines (espeak-ng voices, no text model) -------------------------------------
SCENE="$OUT/kill-scene.toml"
python3 - "$SCENE" <<'PY'
import sys
cast = ["bujang", "timjang", "daeri", "sinip", "client"]
lines = ["오늘 회의는 열 시에 시작합니다.", "자료는 메일로 보내 드릴게요.", "이번 주 금요일까지 마무리하겠습니다.",
         "점심은 다 같이 먹으러 가요.", "로고 색을 조금만 바꿔 주세요."]
out = ['title = "kill test"', 'cast = ' + str(cast).replace("'", '"'), "seed = 3", ""]
for i in range(12):
    out += ["[[beats]]", f'speaker = "{cast[i % 5]}"', f'line = "{lines[i % 5]}"', ""]
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(out))
PY
S="$BIN --plugin-path $PLUGINS -q scene $SCENE"
timed $S --out "$OUT/scene-clean"
DELAYS=$(delays "$ELAPSED")
check_scene() {  # check_scene DIR: complete, no strays, equal to the clean run
  python3 - "$1" "$OUT/scene-clean" <<'PY' || fail "scene outputs in $1"
import hashlib, json, os, sys
d, clean = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(d, "manifest.json"), encoding="utf-8"))
want = sorted(os.path.basename(l["wav"]) for l in m["lines"])
have = sorted(os.listdir(os.path.join(d, "lines")))
assert have == want, (have, want)                       # no lost and no stray line file
assert [n[:3] for n in want] == [f"{i:03}" for i in range(1, 13)], want
for f in ["mix.wav", "subtitles.srt", "script.txt", "summary.md", "timing.json", "manifest.json"]:
    assert os.path.getsize(os.path.join(d, f)) > 0, f
stray = [f for f in os.listdir(d) if f.endswith(".tmp")] + [f for f in have if f.endswith(".tmp")]
assert not stray, stray
h = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
for f in ["mix.wav", "subtitles.srt", "script.txt", "manifest.json"] + ["lines/" + n for n in want]:
    assert h(os.path.join(d, f)) == h(os.path.join(clean, f)), f
PY
}
check_scene "$OUT/scene-clean"
for d in $DELAYS; do
  kill_after "$d" $S --out "$OUT/scene"
  echo "scene killed at $d s: $(ls "$OUT/scene/lines" 2> /dev/null | grep -c wav) line files, manifest $(test -e "$OUT/scene/manifest.json" && echo present || echo absent)"
  $S --out "$OUT/scene" || fail "scene rerun after a kill at $d s"
  check_scene "$OUT/scene"
done
# a second scene on the same folder while one runs is refused, not interleaved
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(300)' \
  "$OUT/scene/.troupe-scene.lock" "$OUT/locked" &
lockpid=$!
while [ ! -e "$OUT/locked" ]; do sleep 0.1; done
set +e; $S --out "$OUT/scene" 2> "$OUT/busy.err"; code=$?; set -e
kill "$lockpid"; wait "$lockpid" 2> /dev/null || true
[ "$code" = 2 ] || fail "scene on a busy folder exited $code: $(cat "$OUT/busy.err")"
grep -q "another troupe scene" "$OUT/busy.err" || fail "busy message: $(cat "$OUT/busy.err")"
check_scene "$OUT/scene"

# ---- eval: the fixture suite with test backends ---------------------------------------------
E="$BIN --plugin-path $EVALPLUGINS --plugin-path $PLUGINS --characters $EVALFIXTURES/characters -q eval --suite $EVALFIXTURES/suite.toml"
timed $E --out "$OUT/eval-clean"
DELAYS=$(delays "$ELAPSED")
for d in $DELAYS; do
  kill_after "$d" $E --out "$OUT/eval"
  echo "eval killed at $d s: $(grep -c '"id"' "$OUT/eval/cases.jsonl" 2> /dev/null || echo 0) journal lines"
done
$E --out "$OUT/eval" || fail "eval rerun after kills"
python3 - "$OUT/eval" "$OUT/eval-clean" <<'PY' || fail "eval outputs"
import json, os, sys
def cases(d):
    rows = [json.loads(l) for l in open(os.path.join(d, "cases.jsonl"), encoding="utf-8")]
    return [r for r in rows if r.get("type") not in ("header", "event")]
a, b = cases(sys.argv[1]), cases(sys.argv[2])
ids = [r["id"] for r in a]
assert len(ids) == len(set(ids)), "duplicate case rows"
assert sorted(ids) == sorted(r["id"] for r in b), "lost or extra cases"
stable = lambda r: {k: v for k, v in r.items() if "second" not in k and "latency" not in k and k not in ("finished", "started", "rtf", "timing")}
by = {r["id"]: r for r in b}
for r in a:
    assert stable(r).get("status") == stable(by[r["id"]]).get("status"), r["id"]
    assert r.get("text") == by[r["id"]].get("text"), r["id"]
assert not [f for f in os.listdir(sys.argv[1]) if f.endswith(".tmp")]
audio = os.path.join(sys.argv[1], "audio")
assert not [f for f in os.listdir(audio) if f.endswith(".tmp")]
assert sorted(os.listdir(audio)) == sorted(os.listdir(os.path.join(sys.argv[2], "audio")))
PY
$BIN --plugin-path $EVALPLUGINS --plugin-path $PLUGINS -q eval compare "$OUT/eval-clean" "$OUT/eval" -o "$OUT/compare.md" > /dev/null
grep -A2 "판정이 바뀐 지표" "$OUT/compare.md" | grep -q "없음" || fail "killed-and-resumed eval differs: $(cat "$OUT/compare.md")"
echo ok
