#!/usr/bin/env bash
# One GPU-machine call (issue 15, text backend; about 6–8 min on an H100 with 48 layers): build,
# the fused-kernel tests against ATen (float32/bf16/f16, both GEMV versions), the llama conformance
# suite on CUDA through the new paths, S1 in bf16/fp16 against float32 (share of identical greedy
# tokens), then the EEVE-size benchmark (random weights, exact
# EEVE-10.8B config, r=16 LoRA on 7 projections, unmerged, batch 1) in bf16 and NF4:
#   decode   GEMV kernels v1 (TROUPE_GEMV=1, the old ones) vs v2, CUDA graph, 64-token prompt,
#            128 new tokens: tok/s, GB/s of weights read, % of the GPU's bandwidth bound;
#   prefill  legacy layer code (TROUPE_PREFILL=legacy) vs the prefill path, 64 and 200 tokens.
# Best of REPEATS (3) after a warm-up, each quantization in its own process.
#
# Run from the repository root with .gpu/ carried (.gpu/debs from bench/gpu/fetch-debs.sh and the
# conformance copy .gpu/conformance; the S1 check needs .gpu/conformance/gpt-sovits/{models/s1.ckpt,s1/},
# about 1.7 MB, and is skipped without them). Writes $OUT/kernels.md (the table), $OUT/bench_*.json and logs.
# env: LAYERS (48), REPEATS (3), WORK (/tmp/llmbench), HF=1 adds the transformers+peft eager bf16 row
#      (bench/gpu_llm/hf_decode_bench.py), SKIP_TESTS=1, SKIP_BUILD=1 (a build already in /tmp/troupe-build).
set -uo pipefail
t0=$(date +%s)
el() { echo "[$(($(date +%s) - t0)) s] $*"; }
LAYERS=${LAYERS:-48}
REPEATS=${REPEATS:-3}
WORK=${WORK:-/tmp/llmbench}
OUTDIR=${OUT:-/tmp/kernels-out}
mkdir -p "$OUTDIR" "$WORK"

# weights on the CPU while the build runs
WPID=
# (made again when the weights there have another layer count)
if ! grep -q "\"num_hidden_layers\": *$LAYERS\b" "$WORK/model/base/config.json" 2>/dev/null; then
  rm -rf "$WORK/model"
  (python3 bench/gpu_llm/make_eeve_random.py "$WORK/model" --layers "$LAYERS" > "$OUTDIR/weights.log" 2>&1) &
  WPID=$!
fi

if [ -z "${SKIP_BUILD:-}" ]; then
  TESTS=ON bash bench/gpu/build.sh troupe eeve-lora llama_unit llama_conformance ${S1_TEST_TARGET-test_s1_conformance} \
    || { cp /tmp/troupe-build.log /tmp/troupe-configure.log "$OUTDIR/" 2>/dev/null; exit 1; }
fi
source bench/gpu/env.sh
el "build done"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUTDIR/gpu.txt"

if [ -z "${SKIP_TESTS:-}" ]; then
  echo "== llama_unit: fused kernels vs ATen (CUDA)"
  timeout 120 /tmp/troupe-build/bin/llama_unit --run_test=fused_decode_kernels_match_aten --log_level=message \
    > "$OUTDIR/llama_unit.log" 2>&1
  echo "rc=$?"; tail -8 "$OUTDIR/llama_unit.log"
  echo "== llama_conformance on CUDA (prefill path, GEMV v2, graphs)"
  TROUPE_GEMV=2 TROUPE_PREFILL=fast TROUPE_TEST_DEVICE=cuda timeout 180 /tmp/troupe-build/bin/llama_conformance > "$OUTDIR/llama_conformance.log" 2>&1
  echo "rc=$?"; tail -8 "$OUTDIR/llama_conformance.log"
  echo "== llama_conformance on CUDA with TROUPE_GEMV=1"
  TROUPE_GEMV=1 TROUPE_TEST_DEVICE=cuda timeout 120 /tmp/troupe-build/bin/llama_conformance \
    --run_test=static_decode_session_matches_cached_forward > "$OUTDIR/llama_conformance_v1.log" 2>&1
  echo "rc=$?"; tail -3 "$OUTDIR/llama_conformance_v1.log"
  if [ -x /tmp/troupe-build/bin/test_s1_conformance ] && [ -f "$TROUPE_CONFORMANCE_DIR/gpt-sovits/models/s1.ckpt" ]; then
    echo "== S1 half precision vs float32 (CUDA: bf16 and fp16)"
    TROUPE_TEST_DEVICE=cuda timeout 120 /tmp/troupe-build/bin/test_s1_conformance \
      --run_test=half_precision_greedy_agreement --log_level=message > "$OUTDIR/s1_half.log" 2>&1
    echo "rc=$?"; grep -E "^S1 |relative L2|error" "$OUTDIR/s1_half.log" | head -12
  fi
  el "tests done"
fi

[ -n "$WPID" ] && { wait "$WPID" || { cat "$OUTDIR/weights.log"; exit 1; }; }
el "weights ready"
BASE="$WORK/model/base"; ADAPTER="$WORK/model/adapter"
for q in none nf4; do
  timeout 240 /tmp/troupe-build/bin/troupe bench lm --model "$BASE" --adapter "$ADAPTER" --device cuda \
    --dtype bfloat16 --quantize $q --prompt-tokens 64 --new-tokens 128 --repeats "$REPEATS" --compare \
    --prefill-tokens 64,200 --json > "$OUTDIR/bench_$q.json" 2> "$OUTDIR/bench_$q.err"
  echo "bench $q rc=$?"; tail -3 "$OUTDIR/bench_$q.err"
  el "bench $q done"
done
if [ -n "${HF:-}" ]; then
  timeout 240 python3 bench/gpu_llm/hf_decode_bench.py "$BASE" "$ADAPTER" --prompt-tokens 64 --new-tokens 128 \
    > "$OUTDIR/hf_bf16.json" 2> "$OUTDIR/hf_bf16.err"
  echo "hf rc=$?"
fi

python3 - "$OUTDIR" "$LAYERS" <<'PYEOF' | tee "$OUTDIR/kernels.md"
import json, os, sys, datetime
out, layers = sys.argv[1], sys.argv[2]
gpu = open(os.path.join(out, "gpu.txt")).read().split(",")[0].strip()
bound = 4800.0 if "H200" in gpu else 3350.0  # GB/s: H200 4.8 TB/s, H100 SXM 3.35 TB/s
def load(name):
    try:
        txt = open(os.path.join(out, name)).read()
        return json.loads(txt[txt.index("{"):])
    except Exception as e:
        print(f"<!-- {name}: {e} -->"); return None
print(f"\n### EEVE-10.8B config ({layers} layers), r=16 LoRA unmerged, batch 1 — {datetime.date.today()} — {gpu} "
      f"(bandwidth bound {bound/1000:.2f} TB/s)\n")
print("| weights | decode kernels | decode tok/s | weights read GB/s | % of bound | prefill 64 tok/s (legacy → new) | prefill 200 tok/s (legacy → new) | peak GiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for q in ("none", "nf4"):
    r = load(f"bench_{q}.json")
    if not r: continue
    gb = r["read_gb_per_token"]
    pre = {(p["tokens"], p["path"]): p["tokens_per_second"] for p in r.get("prefill_runs", [])}
    def pf(n): return f"{pre.get((n, 'legacy'), 0):.0f} → {pre.get((n, 'fast'), 0):.0f}"
    for d in r.get("decode_kernels", []):
        tps = d["tokens_per_second"]
        print(f"| {'NF4 (double quant)' if q == 'nf4' else 'bf16'} | v{d['gemv']}{' (old)' if d['gemv'] == 1 else ''} | "
              f"{tps:.1f} | {gb * tps:.0f} | {100 * gb * tps / bound:.0f} % | {pf(64)} | {pf(200)} | {r.get('peak_gpu_gib', 0):.1f} |")
h = load("hf_bf16.json") if os.path.exists(os.path.join(out, "hf_bf16.json")) else None
if h:
    print(f"| bf16 transformers+peft eager | — | {h['decode_tokens_per_second']:.1f} | | | {h['prefill_tokens_per_second']:.0f} | | {h.get('peak_gpu_gib', 0):.1f} |")
PYEOF
el "total"
