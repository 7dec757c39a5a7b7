#!/usr/bin/env bash
# Batch-1 decode benchmark on the GPU machine: random weights with EEVE-Korean-10.8B's exact
# config + an r=16 LoRA on all 7 projections; Troupe (bf16, NF4) vs transformers+peft (bf16, NF4)
# on the same folders, in the same run. Prints a markdown table for docs/benchmarks.md.
#
# Needs: python3 with torch (CUDA), safetensors; transformers+peft (+ bitsandbytes for the NF4
# reference) for the reference rows; cmake + a C++17 compiler; fmt and nlohmann-json headers —
# from the system, or from .deb files in $DEBS_DIR (unpacked with dpkg -x; nothing is installed).
#
# usage: bench/gpu_llm/gpu_llm_bench.sh [WORK_DIR] [LAYERS]   (LAYERS < 48 for a quick run)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-/tmp/troupe-gpu-llm}
LAYERS=${2:-48}
NEW=${NEW_TOKENS:-128}
PROMPT=${PROMPT_TOKENS:-64}
mkdir -p "$WORK"
PY=${PYTHON:-python3}

# 1. headers (fmt, nlohmann-json) from .debs when the system lacks them
EXTRA=""
if [ -n "${DEBS_DIR:-}" ]; then
  mkdir -p "$WORK/debroot"
  for d in "$DEBS_DIR"/*.deb; do dpkg -x "$d" "$WORK/debroot"; done
  EXTRA="$WORK/debroot/usr/include"
fi

# 2. build against the LibTorch inside PyTorch (its C++ ABI flag comes with TorchConfig)
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S "$HERE" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  -DEXTRA_INCLUDE_DIRS="$EXTRA" > "$WORK/cmake.log"
cmake --build "$WORK/build" -j"$(nproc)" > "$WORK/build.log"
BENCH="$WORK/build/llm_decode_bench"

# 3. random EEVE-config weights + adapter
if [ ! -f "$WORK/model/base/config.json" ]; then
  $PY "$HERE/make_eeve_random.py" "$WORK/model" --layers "$LAYERS"
fi
BASE="$WORK/model/base"; ADAPTER="$WORK/model/adapter"

# 4. runs (one process each, so peak memory and caches do not mix)
: > "$WORK/results.jsonl"
"$BENCH" "$BASE" "$ADAPTER" --dtype bfloat16 --quantize none --prompt-tokens "$PROMPT" --new-tokens "$NEW" | tee -a "$WORK/results.jsonl"
"$BENCH" "$BASE" "$ADAPTER" --dtype bfloat16 --quantize nf4 --prompt-tokens "$PROMPT" --new-tokens "$NEW" | tee -a "$WORK/results.jsonl"
$PY "$HERE/hf_decode_bench.py" "$BASE" "$ADAPTER" --prompt-tokens "$PROMPT" --new-tokens "$NEW" | tee -a "$WORK/results.jsonl" || echo "transformers+peft bf16 run failed" >&2
$PY "$HERE/hf_decode_bench.py" "$BASE" "$ADAPTER" --nf4 --prompt-tokens "$PROMPT" --new-tokens "$NEW" | tee -a "$WORK/results.jsonl" || echo "transformers+peft nf4 run failed (bitsandbytes?)" >&2

# 5. table + ratios
$PY - "$WORK/results.jsonl" "$LAYERS" <<'PYEOF'
import json, sys, datetime, subprocess
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
layers = int(sys.argv[2])
gpu = next((r["gpu"] for r in rows if "gpu" in r), "")
if not gpu:
    try: gpu = subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]).decode().split("\n")[0]
    except Exception: gpu = "?"
def get(impl, nf4):
    for r in rows:
        if r["impl"] == impl and (r.get("nf4") if impl != "troupe" else r.get("quantize") == "nf4") == nf4:
            return r
print(f"\n### EEVE-10.8B config ({layers} layers), random weights, r=16 LoRA on 7 projections, batch 1 — {datetime.date.today()} — {gpu}\n")
print("| implementation | weights | prefill tok/s | decode tok/s | ratio vs transformers+peft |")
print("| --- | --- | --- | --- | --- |")
for nf4 in (False, True):
    t, h = get("troupe", nf4), get("transformers+peft", nf4)
    w = "NF4 (double quant)" if nf4 else "bf16"
    for r in (t, h):
        if not r: continue
        ratio = ""
        if r is t and h: ratio = f"{t['decode_tokens_per_second'] / h['decode_tokens_per_second']:.2f}x"
        print(f"| {r['impl']} | {w} | {r['prefill_tokens_per_second']:.0f} | {r['decode_tokens_per_second']:.1f} | {ratio} |")
PYEOF
