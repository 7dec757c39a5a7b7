#!/usr/bin/env bash
# GPT-SoVITS v2 synthesis benchmark: Troupe (bench/gpu_sovits/sovits_bench) vs upstream PyTorch
# (upstream_bench.py, the code fetch-upstream.sh put in .gpu/upstream) on the same random full-v2
# weights (make_random_v2.py), in one run. Prints a markdown table for docs/benchmarks.md.
#
# Run from the repository root. On the GPU machine (with .gpu/ carried):
#   bash bench/gpu_sovits/gpu_sovits_bench.sh
# builds with bench/gpu/build.sh (the pip PyTorch's LibTorch, .gpu/debs), then runs Troupe, upstream infer_panel (naive) fp32, upstream CUDAGraphRunner
# fp32 and CUDAGraphRunner fp16 (the WebUI's default on CUDA: is_half + CUDA graph box ticked), and
# Troupe once more with the sampling noise drawn by the device generator (as upstream draws it, so
# its tokens equal the fp32 naive row's; the first row draws it on the CPU, as the engine does).
# On a CPU machine: DEVICE=cpu TOKENS=16 SEGMENTS=1 RUNS=1 bash bench/gpu_sovits/gpu_sovits_bench.sh
# (system LibTorch and python3 torch; only the fp32 naive upstream row).
#
# The troupe-stream row is the same request with streaming S2 (sovits_bench --stream): its "first audio s"
# is the time to the first chunk of audio (issue #15's ≤ 150 ms target), its RTF the whole request's.
# The troupe-s1-batch row decodes S1 for all segments in one batch (sovits_bench --s1-batch), then S2.
# Environment: DEVICE (cuda), TOKENS per segment (128), SEGMENTS (4), RUNS (3, best of; after two
# warm-up requests), WORK (/tmp/troupe-gpu-sovits), BUILD_DIR (CPU only: $WORK/build), PYTHON (python3),
# BUILD_ONLY (set: stop after building; a later call reuses it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/gpu_sovits"
DEVICE=${DEVICE:-cuda}
TOKENS=${TOKENS:-128}
SEGMENTS=${SEGMENTS:-4}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/troupe-gpu-sovits}
BUILD=${BUILD_DIR:-$WORK/build}
PY=${PYTHON:-python3}
mkdir -p "$WORK"
[ -d "$ROOT/.gpu/upstream/GPT_SoVITS/AR" ] || { echo "no .gpu/upstream: run bench/gpu_sovits/fetch-upstream.sh on the dev machine first" >&2; exit 1; }

# 1. build sovits_bench (the main build with TROUPE_BUILD_BENCH; on the GPU machine bench/gpu/build.sh)
t0=$(date +%s)
if [ "$DEVICE" != cpu ]; then
  BUILD=/tmp/troupe-build
  (cd "$ROOT" && bash bench/gpu/build.sh sovits_bench) >&2 || exit 1
  source "$ROOT/bench/gpu/env.sh"
else
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
    -DTROUPE_BUILD_BENCH=ON > "$WORK/cmake.log" 2>&1 || { tail -40 "$WORK/cmake.log"; exit 1; }
  cmake --build "$BUILD" -j "$(nproc)" --target sovits_bench > "$WORK/build.log" 2>&1 \
    || { grep -E "error|FAILED" "$WORK/build.log" | head -40; exit 1; }
fi
echo "built $BUILD/bin/sovits_bench in $(( $(date +%s) - t0 )) s" >&2
[ -n "${BUILD_ONLY:-}" ] && exit 0

# 2. random full-v2 weights and inputs (one set per segment count)
MODEL="$WORK/model-s$SEGMENTS"
if [ ! -f "$MODEL/inputs.json" ]; then
  (cd "$WORK" && $PY "$HERE/make_random_v2.py" "$MODEL" --segments "$SEGMENTS") >&2
fi

# 3. runs, one process each (peak memory and caches do not mix)
RES="$WORK/results.jsonl"
: > "$RES"
run() {  # name, command...
  local name=$1; shift
  echo "== $name" >&2
  if "$@" > "$WORK/out.json" 2> "$WORK/$name.log"; then
    grep '^{' "$WORK/out.json" | tail -1 | tee -a "$RES" || echo "$name printed no JSON" >&2
  else
    echo "$name failed (log: $WORK/$name.log):" >&2; tail -5 "$WORK/$name.log" | cut -c1-400 >&2
  fi
}
run troupe "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS"
# streaming: S2 decodes 16-token chunks while S1 runs; first audio = the first chunk (STREAM_CHUNK, STREAM_LOOKAHEAD)
run troupe-stream "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS" --stream \
  --chunk-tokens "${STREAM_CHUNK:-16}" --lookahead-tokens "${STREAM_LOOKAHEAD:-4}"
# S1 over all segments in one static batch (the engine's s1_batch), then S2 per segment
run troupe-s1-batch "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS" --s1-batch
if [ "$DEVICE" != cpu ]; then  # the device generator, as upstream samples: the same tokens as its naive row
  run troupe-device-noise "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS" --noise device
  # S1 in half precision (the engine's s1_dtype; S2 stays float32), alone and streaming
  run troupe-s1-bf16 "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS" --s1-dtype bfloat16
  run troupe-s1-fp16 "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS" --s1-dtype float16
  run troupe-stream-bf16 "$BUILD/bin/sovits_bench" "$MODEL" --device "$DEVICE" --tokens "$TOKENS" --runs "$RUNS" --s1-dtype bfloat16 \
    --stream --chunk-tokens "${STREAM_CHUNK:-16}" --lookahead-tokens "${STREAM_LOOKAHEAD:-4}"
fi
run upstream-naive $PY "$HERE/upstream_bench.py" "$MODEL" --device "$DEVICE" --variant naive --tokens "$TOKENS" --runs "$RUNS"
if [ "$DEVICE" != cpu ]; then
  run upstream-cudagraph $PY "$HERE/upstream_bench.py" "$MODEL" --device "$DEVICE" --variant cudagraph --tokens "$TOKENS" --runs "$RUNS"
  run upstream-cudagraph-fp16 $PY "$HERE/upstream_bench.py" "$MODEL" --device "$DEVICE" --variant cudagraph --half --tokens "$TOKENS" --runs "$RUNS"
fi

# 4. table
$PY - "$RES" "$DEVICE" <<'PYEOF'
import datetime, json, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
dev = sys.argv[2]
hw = "CPU"
if dev != "cpu":
    try:
        hw = subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]).decode().split("\n")[0]
    except Exception:
        hw = "GPU"
torch_v = next((r["torch"] for r in rows if "torch" in r), "?")
t = next((r for r in rows if r["impl"] == "troupe" and "streaming" not in r["variant"]), None)
naive = next((r for r in rows if r["impl"] == "upstream" and r["variant"].startswith("infer_panel") and r["dtype"] == "float32"), None)
if rows:
    r0 = rows[0]
    print(f"\n### GPT-SoVITS v2 synthesis, random full-v2 weights — {datetime.date.today()} — {hw} (PyTorch {torch_v})\n")
    print(f"{r0['segments']} segments x {r0['tokens_per_segment']} tokens (EOS disabled), prompt 100 codes + 30 phones, "
          "40 target phones per segment, top-k 15, repetition penalty 1.35, noise scale 0.5; best of the timed requests.\n")
print("| implementation | S1 decode | dtype | S1 tok/s | S2 s | total s | audio s | RTF | first audio s | peak VRAM MiB | Troupe speed-up (S1 / total) | first 16 tokens = naive's | audio RMS |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
for r in rows:
    ratio = ""
    if t and r is not t:
        ratio = f"{t['s1_tokens_per_s'] / r['s1_tokens_per_s']:.2f}x / {r['total_s'] / t['total_s']:.2f}x"
    print(f"| {r['impl']} | {r['variant']} | {r['dtype']} | {r['s1_tokens_per_s']:.0f} | {r['s2_s']:.3f} | {r['total_s']:.3f} | "
          f"{r['audio_s']:.2f} | {r['rtf']:.4f} | {r['first_audio_s']:.3f} | {r['peak_vram_mib']:.0f} | {ratio} | "
          f"{'' if not naive or r['impl'] != 'troupe' else ('yes' if r['first_tokens'] == naive['first_tokens'] else 'no')} | "
          f"{r.get('first_audio_rms') or float('nan'):.4f} |")
PYEOF
