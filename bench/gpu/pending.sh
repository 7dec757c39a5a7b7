#!/usr/bin/env bash
# The GPU measurements issues #13 and #15 still need, in priority order, in one device call (or
# several on the same warm machine: the build in /tmp/troupe-build is reused). Each step logs to
# $OUT as it goes, so a call cut at its limit still returns what finished. Carry .gpu (debs/,
# upstream/ from bench/gpu_sovits/fetch-upstream.sh, conformance/ with llama-lora and gpt-sovits
# s1 files; the whole tree must stay under the device's 64 MiB).
#   BUDGET   seconds this call may use (default 560); steps that would start too late are skipped
#   LAYERS   layers of the EEVE-size kernel benchmark (default 8: fits with the rest; 48 alone)
set -u
OUT=${OUT:-/tmp/pending-out}
mkdir -p "$OUT"
BUDGET=${BUDGET:-560}
t0=$(date +%s)
el() { echo "[$(($(date +%s) - t0)) s] $*"; }
left() { echo $((BUDGET - ($(date +%s) - t0))); }
export TESTS=ON
bash bench/gpu/build.sh troupe eeve-lora gpt-sovits llama_unit llama_conformance test_s1_conformance \
  train_bench sovits_bench bench_s1_decode > "$OUT/build.txt" 2>&1
el "build rc=$?"; tail -3 "$OUT/build.txt"
source bench/gpu/env.sh
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
# 1. #13: fine-tuning throughput and cross-load, Troupe vs upstream
[ "$(left)" -gt 200 ] && { S1_STEPS=10 S2_STEPS=10 timeout 200 bash bench/gpu_sovits/train_bench.sh > "$OUT/train_bench.txt" 2>&1
  el "train_bench rc=$?"; tail -20 "$OUT/train_bench.txt"; }
# 2. #15: S1 on CUDA (conformance incl. the batched static path and half precision), then batched S1 speed
[ "$(left)" -gt 60 ] && { TROUPE_TEST_DEVICE=cuda timeout 90 /tmp/troupe-build/bin/test_s1_conformance --log_level=message \
  > "$OUT/s1_conformance_cuda.txt" 2>&1; el "test_s1_conformance (cuda) rc=$?"; grep -E "^S1 |error|failure" "$OUT/s1_conformance_cuda.txt" | head -12; }
[ "$(left)" -gt 60 ] && { timeout 60 /tmp/troupe-build/bin/bench_s1_decode --device cuda --batch 4 --steps 500 > "$OUT/s1_batch.txt" 2>&1
  el "bench_s1_decode --batch 4 rc=$?"; tail -8 "$OUT/s1_batch.txt"; }
# 3. #15: synthesis (streaming first audio, S1 bf16/fp16 rows) vs upstream
[ "$(left)" -gt 120 ] && { timeout $(( $(left) > 240 ? 240 : $(left) )) bash bench/gpu_sovits/gpu_sovits_bench.sh > "$OUT/sovits_bench.txt" 2>&1
  el "sovits_bench rc=$?"; tail -20 "$OUT/sovits_bench.txt"; }
# 4. #15: the text-backend kernels (tests on CUDA first, then decode/prefill figures)
[ "$(left)" -gt 90 ] && { mkdir -p "$OUT/kernels"; OUT="$OUT/kernels" LAYERS=${LAYERS:-8} REPEATS=2 SKIP_BUILD=1 \
  timeout "$(left)" bash bench/gpu_llm/kernels_session.sh > "$OUT/kernels_session.txt" 2>&1
  el "kernels_session rc=$?"; tail -25 "$OUT/kernels_session.txt"; }
el "done"
