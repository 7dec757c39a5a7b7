#!/usr/bin/env bash
# GPT-SoVITS v2 fine-tuning on the GPU machine, Troupe vs upstream, same data and weights, one run:
#   0. parity: S1 losses of 2 ScaledAdam steps (9 micro-batches, dropout 0), Troupe vs upstream;
#   1. cross-load: Troupe's S1 .ckpt / S2 .pth exports (train_bench, 2 steps, dropout 0) loaded by
#      upstream's own code (strict S1 load + forward_old on the sampler's first batch, compared with
#      Troupe's first-batch loss on the same file; S2 inference load, only enc_q missing);
#   2. throughput: S1 and S2 optimizer steps/s and peak VRAM (Troupe fp32/TF32; upstream fp32 and
#      fp16-autocast, the WebUI's GPU default), full v2 size (make_random_v2.py + make_train_data.py).
# Run from the repository root with .gpu/ carried (.gpu/debs, .gpu/upstream from fetch-upstream.sh):
#   bash bench/gpu_sovits/train_bench.sh
# CPU check (slow; system LibTorch, /usr/bin/python3):
#   DEVICE=cpu S1_STEPS=2 S2_STEPS=2 WARMUP=1 S1_BATCH=2 S2_BATCH=2 ITEMS=8 BUILD_DIR=build bash bench/gpu_sovits/train_bench.sh
# Environment: DEVICE (cuda), S1_STEPS (12), S2_STEPS (12), WARMUP (2), S1_BATCH (8), S2_BATCH (4),
# ITEMS (48), WORK (/tmp/troupe-train-bench), PYTHON (python3), BUILD_ONLY (set: stop after the build;
# a later call on the same warm machine reuses /tmp/troupe-build).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/gpu_sovits"
DEVICE=${DEVICE:-cuda}; S1_STEPS=${S1_STEPS:-12}; S2_STEPS=${S2_STEPS:-12}; WARMUP=${WARMUP:-2}
S1_BATCH=${S1_BATCH:-8}; S2_BATCH=${S2_BATCH:-4}; ITEMS=${ITEMS:-48}
WORK=${WORK:-/tmp/troupe-train-bench}; PY=${PYTHON:-python3}
mkdir -p "$WORK"
[ -d "$ROOT/.gpu/upstream/GPT_SoVITS/AR/data" ] || { echo "no .gpu/upstream with AR/data: run bench/gpu_sovits/fetch-upstream.sh first" >&2; exit 1; }
t0=$(date +%s)
if [ "$DEVICE" != cpu ]; then
  BUILD=/tmp/troupe-build
  (cd "$ROOT" && bash bench/gpu/build.sh train_bench) >&2 || exit 1
  source "$ROOT/bench/gpu/env.sh"
else
  BUILD=${BUILD_DIR:?set BUILD_DIR to a build with -DTROUPE_BUILD_BENCH=ON}
  cmake --build "$BUILD" -j2 --target train_bench >&2 || exit 1
fi
echo "built train_bench in $(( $(date +%s) - t0 )) s" >&2
[ -n "${BUILD_ONLY:-}" ] && exit 0
TB="$BUILD/bin/train_bench"
M="$WORK/model"; D="$WORK"
[ -f "$M/s1.ckpt" ] || (cd "$WORK" && $PY "$HERE/make_random_v2.py" "$M" --segments 1) >&2 || exit 1
[ -f "$D/s2D.pth" ] || $PY "$HERE/make_train_data.py" "$M" "$D" --items "$ITEMS" >&2 || exit 1
RES="$WORK/results.jsonl"; : > "$RES"
# Troupe resumes a run from the state in its output folder: start every run afresh.
rm -rf "$WORK/s1" "$WORK/s2" "$WORK/s1-export" "$WORK/s2-export" "$WORK/s1-x"
run() {  # name, command...
  local name=$1; shift
  echo "== $name" >&2
  if "$@" > "$WORK/$name.out" 2> "$WORK/$name.log"; then grep '^{' "$WORK/$name.out" | tail -1 | sed "s/^{/{\"run\":\"$name\",/" | tee -a "$RES" | cut -c1-300 >&2
  else echo "$name failed (log $WORK/$name.log):" >&2; tail -8 "$WORK/$name.log" | cut -c1-400 >&2; fi
}
S1A=(--data "$D/data" --device "$DEVICE" --batch "$S1_BATCH" --warmup "$WARMUP")
S2A=(--data "$D/data" --device "$DEVICE" --batch "$S2_BATCH" --warmup "$WARMUP")
# 1. cross-load (dropout 0: deterministic forward)
run troupe-s1-export "$TB" s1 "${S1A[@]}" --pretrained "$M/s1.ckpt" --out "$WORK/s1-export" --steps 2 --dropout 0
run troupe-s2-export "$TB" s2 "${S2A[@]}" --pretrained "$D/s2G_train.pth" --pretrained-d "$D/s2D.pth" --out "$WORK/s2-export" --steps 2 --warmup 1
run upstream-s1-parity $PY "$HERE/upstream_train_bench.py" s1 "${S1A[@]}" --pretrained "$M/s1.ckpt" --steps 2 --dropout 0
S1X=$(ls "$WORK"/s1-export/*.ckpt 2>/dev/null | head -1); S2X=$(ls "$WORK"/s2-export/*.pth 2>/dev/null | head -1)
run troupe-s1-xload "$TB" s1 "${S1A[@]}" --pretrained "$S1X" --out "$WORK/s1-x" --dropout 0 --first-loss
run upstream-s1-xload $PY "$HERE/upstream_train_bench.py" s1 "${S1A[@]}" --pretrained "$S1X" --dropout 0 --first-loss
run upstream-s2-xload $PY "$HERE/upstream_train_bench.py" s2-load --pretrained "$S2X"
# 2. throughput, one process each
run troupe-s1 "$TB" s1 "${S1A[@]}" --pretrained "$M/s1.ckpt" --out "$WORK/s1" --steps "$S1_STEPS"
run upstream-s1 $PY "$HERE/upstream_train_bench.py" s1 "${S1A[@]}" --pretrained "$M/s1.ckpt" --steps "$S1_STEPS"
run troupe-s2 "$TB" s2 "${S2A[@]}" --pretrained "$D/s2G_train.pth" --pretrained-d "$D/s2D.pth" --out "$WORK/s2" --steps "$S2_STEPS"
run upstream-s2 $PY "$HERE/upstream_train_bench.py" s2 "${S2A[@]}" --pretrained "$D/s2G_train.pth" --pretrained-d "$D/s2D.pth" --steps "$S2_STEPS"
if [ "$DEVICE" != cpu ]; then
  run upstream-s1-amp $PY "$HERE/upstream_train_bench.py" s1 "${S1A[@]}" --pretrained "$M/s1.ckpt" --steps "$S1_STEPS" --amp
  run upstream-s2-amp $PY "$HERE/upstream_train_bench.py" s2 "${S2A[@]}" --pretrained "$D/s2G_train.pth" --pretrained-d "$D/s2D.pth" --steps "$S2_STEPS" --amp
fi
# 3. tables
$PY - "$RES" "$DEVICE" <<'PYEOF'
import datetime, json, subprocess, sys
rows = {r["run"]: r for r in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))}
hw = "CPU"
if sys.argv[2] != "cpu":
    try: hw = subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]).decode().split("\n")[0]
    except Exception: hw = "GPU"
tv = next((r["torch"] for r in rows.values() if "torch" in r), "?")
print(f"\n### GPT-SoVITS v2 fine-tuning, random full-v2 weights — {datetime.date.today()} — {hw} (PyTorch {tv})\n")
tx, ux = rows.get("troupe-s1-xload"), rows.get("upstream-s1-xload")
if tx and ux:
    a, b = tx["losses"][0], ux["losses"][0]
    print(f"Cross-load S1: upstream's Text2SemanticDecoder loads Troupe's export strictly; first-batch loss Troupe {a:.4f}, upstream {b:.4f}, rel diff {abs(a-b)/abs(b):.2e}.")
te, ue = rows.get("troupe-s1-export"), rows.get("upstream-s1-parity")
if te and ue:
    n = min(len(te["losses"]), len(ue["losses"]))
    rel = max(abs(x - y) / abs(y) for x, y in zip(te["losses"][:n], ue["losses"][:n]))
    print(f"S1 training parity at full size: {n} micro-batches (2 ScaledAdam steps, dropout 0), per-micro-batch losses max rel diff {rel:.2e}.")
s2x = rows.get("upstream-s2-xload")
if s2x: print(f"Cross-load S2: upstream's inference load of Troupe's .pth: {'ok (only enc_q missing)' if s2x['ok'] else 'FAILED ' + json.dumps(s2x)}, dtypes {s2x['dtypes']}.")
print("\n| stage | implementation | dtype | batch | timed steps | steps/s | peak VRAM MiB | Troupe speed-up |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
for st in ("s1", "s2"):
    t = rows.get(f"troupe-{st}")
    for name in (f"troupe-{st}", f"upstream-{st}", f"upstream-{st}-amp"):
        r = rows.get(name)
        if not r: continue
        sp = "" if r is t or not t or not r.get("steps_per_s") else f"{t['steps_per_s'] / r['steps_per_s']:.2f}x"
        print(f"| {st.upper()} | {r['impl']} | {r['dtype']} | {r['batch']} | {r.get('timed_steps')} | {r.get('steps_per_s', 0):.3f} | {r['peak_vram_mib']:.0f} | {sp} |")
PYEOF
echo "total $(( $(date +%s) - t0 )) s" >&2
