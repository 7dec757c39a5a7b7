#!/usr/bin/env bash
# Batch-1 decode benchmark on the GPU machine: random weights with EEVE-Korean-10.8B's exact
# config + an r=16 LoRA on all 7 projections; Troupe (bf16, NF4) vs transformers+peft (bf16, NF4)
# on the same folders, in the same run. Prints a markdown table for docs/benchmarks.md.
#
# Needs: python3 with torch (CUDA), safetensors; transformers+peft (+ bitsandbytes for the NF4
# reference) for the reference rows; what bench/gpu/build.sh needs (nvcc, .debs in .gpu/debs), or a
# built troupe in $TROUPE.
#
# usage: bench/gpu_llm/gpu_llm_bench.sh [WORK_DIR] [LAYERS]   (LAYERS < 48 for a quick run)
# env: NEW_TOKENS (128), PROMPT_TOKENS (64), TROUPE_ROWS ("none:1 none:0 nf4:1" = quantize:graph),
#      HF_ROWS ("bf16 nf4 bf16:compiled bf16:compiled:merged": weights[:compiled][:merged], i.e. eager or
#      static cache + generate()'s compilation, adapter unmerged or merged), BATCH_ROWS ("8:5" = rows:adapters; many adapters in one batch, bf16,
#      aggregate decode tok/s vs batch 1 on the same path), TROUPE (a built troupe binary; default: build it)
#      An empty TROUPE_ROWS / HF_ROWS / BATCH_ROWS runs none of that kind.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-/tmp/troupe-gpu-llm}
LAYERS=${2:-48}
NEW=${NEW_TOKENS:-128}
PROMPT=${PROMPT_TOKENS:-64}
HF_ROWS=${HF_ROWS-bf16 nf4 bf16:compiled bf16:compiled:merged}  # empty: no reference rows
mkdir -p "$WORK"
PY=${PYTHON:-python3}

# 1. build troupe against the LibTorch inside PyTorch (bench/gpu/build.sh, .debs in .gpu/debs)
if [ -z "${TROUPE:-}" ]; then
  bash "$HERE/../gpu/build.sh" troupe eeve-lora || exit 1  # `troupe bench lm` is served by the eeve-lora plugin
  TROUPE=/tmp/troupe-build/bin/troupe
fi
source "$HERE/../gpu/env.sh"

# 3. random EEVE-config weights + adapter
# (made again when the weights there have another layer count)
if ! grep -q "\"num_hidden_layers\": *$LAYERS\b" "$WORK/model/base/config.json" 2>/dev/null; then
  rm -rf "$WORK/model"
  $PY "$HERE/make_eeve_random.py" "$WORK/model" --layers "$LAYERS"
fi
BASE="$WORK/model/base"; ADAPTER="$WORK/model/adapter"

# 4. runs (one process each, so peak memory and caches do not mix)
: > "$WORK/results.jsonl"
for run in ${TROUPE_ROWS-none:1 none:0 nf4:1}; do  # quantize:graph
  set -- ${run/:/ }
  "$TROUPE" bench lm --model "$BASE" --adapter "$ADAPTER" --device cuda --dtype bfloat16 --quantize $1 \
    --graph $2 --prompt-tokens "$PROMPT" --new-tokens "$NEW" --json \
    | $PY -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))' | tee -a "$WORK/results.jsonl" \
    || echo "troupe quantize=$1 graph=$2 failed" >&2
done
for b in ${BATCH_ROWS-8:5}; do  # rows:adapters — r=16 random adapters on 7 projections, row i uses i % K
  set -- ${b/:/ }
  "$TROUPE" bench lm --model "$BASE" --device cuda --dtype bfloat16 --quantize none --graph 0 \
    --prompt-tokens "$PROMPT" --new-tokens "$NEW" --batch $1 --adapters $2 --json \
    | $PY -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))' | tee -a "$WORK/results.jsonl" \
    || echo "troupe batch $1 x $2 adapters failed" >&2
done
for w in $HF_ROWS; do  # weights[:compiled][:merged]
  flags=$([ "${w%%:*}" = nf4 ] && echo --nf4; [[ $w == *:compiled* ]] && echo --compiled; [[ $w == *:merged* ]] && echo --merge)
  $PY "$HERE/hf_decode_bench.py" "$BASE" "$ADAPTER" $flags --prompt-tokens "$PROMPT" \
    --new-tokens "$NEW" | tee -a "$WORK/results.jsonl" || echo "transformers+peft $w run failed (nf4 needs bitsandbytes)" >&2
done

# 5. table + ratios
$PY - "$WORK/results.jsonl" "$LAYERS" "$PROMPT" "$NEW" <<'PYEOF'
import json, sys, datetime, subprocess
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
layers, prompt, new = sys.argv[2:5]
gpu = next((r["gpu"] for r in rows if "gpu" in r), "")
if not gpu:
    try: gpu = subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]).decode().split("\n")[0]
    except Exception: gpu = "?"
# the reference of the ratio column: transformers+peft, bf16, eager, adapter unmerged
ref = next((r for r in rows if r["impl"] == "transformers+peft" and not r["nf4"]
            and r.get("variant", "eager, adapter unmerged") == "eager, adapter unmerged"), None)
print(f"\n### EEVE-10.8B config ({layers} layers), random weights, r=16 LoRA on 7 projections (unmerged), "
      f"batch 1, {prompt}-token prompt, {new} new tokens — {datetime.date.today()} — {gpu}\n")
print("| implementation | weights | prefill tok/s | decode tok/s | weights read GB/s | peak GiB | vs transformers+peft bf16 eager |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    if r.get("batch"): continue  # the batch table below
    nf4 = r.get("nf4") if r["impl"] != "troupe" else r.get("quantize") == "nf4"
    name = f"{r['impl']} ({r.get('variant', 'eager, adapter unmerged')})" if r["impl"] != "troupe" else ("troupe, " + ("CUDA graph" if r.get("graph") else "eager") + (", fused kernels" if r.get("fused") else ""))
    w = "NF4 (double quant)" if nf4 else "bf16"
    bw = f"{r['effective_gb_per_second']:.0f}" if "effective_gb_per_second" in r else ""
    ratio = f"{r['decode_tokens_per_second'] / ref['decode_tokens_per_second']:.2f}x" if ref else ""
    print(f"| {name} | {w} | {r['prefill_tokens_per_second']:.0f} | {r['decode_tokens_per_second']:.1f} | {bw} | "
          f"{r.get('peak_gpu_gib', 0):.1f} | {ratio} |")
batched = [r for r in rows if r.get("batch")]
if batched:
    print(f"\n### Many adapters in one batch: EEVE-10.8B config ({layers} layers), bf16, {prompt}-token prompts, {new} new "
          f"tokens per row, greedy, r=16 random LoRA on 7 projections (row i uses adapter i mod K) — {gpu}\n")
    print("| rows | adapters | aggregate decode tok/s | batch 1, same path tok/s | speed-up | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in batched:
        one = r.get("batch1_decode_tokens_per_second", 0)
        agg = r.get("batch_decode_tokens_per_second", 0)
        print(f"| {r['batch']} | {r['batch_adapters']} | {agg:.1f} | {one:.1f} | {agg / one if one else 0:.2f}x | ≥ 5x |")
PYEOF
