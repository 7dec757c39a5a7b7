#!/usr/bin/env bash
# The GPU measurements issue #15 still needs after the H200 session of 2026-12-06 (docs/benchmarks.md),
# in priority order, in one device call (or several on the same warm machine: the build in
# /tmp/troupe-build and the weights in /tmp/llmbench are reused). Each step logs to $OUT as it goes, so a
# call cut at its limit still returns what finished. Carry .gpu (debs/, upstream/ from
# bench/gpu_sovits/fetch-upstream.sh; the whole tree must stay under the device's 64 MiB).
#   1. the build (it also checks that this tree compiles against CUDA 13 / LibTorch 2.11), the fused-kernel
#      test and the llama conformance suite on CUDA, kernel_bench (a decode token's time kernel by kernel; once
#      more with --attention 2, the 16-byte-load attention kernel not yet run on a GPU), then the
#      many-adapter batch tests on CUDA (llama_batch: each row within 1e-4 of the row alone, same ids);
#   2. the text backend against its references in one run: Troupe bf16/NF4 (GEMV v2 dense / v1 NF4 and
#      the prefill path, now the defaults), the 8-row 5-adapter batch, transformers+peft eager and its
#      compiled static-cache rows (adapter unmerged and merged);
#   3. synthesis with the troupe-s1-batch row (a whole request with S1 batched over its segments).
#   BUDGET   seconds this call may use (default 560); steps that would start too late are skipped
#   LAYERS   layers of the EEVE-size benchmark (default 48)
#   SOVITS   0: no synthesis build or benchmark; LLM_MIN seconds left needed to start the text benchmark (300)
set -u
OUT=${OUT:-/tmp/pending-out}
mkdir -p "$OUT"
BUDGET=${BUDGET:-560}
t0=$(date +%s)
el() { echo "[$(($(date +%s) - t0)) s] $*"; }
left() { echo $((BUDGET - ($(date +%s) - t0))); }
WPID=  # the EEVE-size weights are made on the CPU while the build runs
if [ "${LLM_MIN:-300}" -lt "$BUDGET" ] && ! grep -q "\"num_hidden_layers\": *${LAYERS:-48}\b" /tmp/llmbench/model/base/config.json 2>/dev/null; then
  rm -rf /tmp/llmbench/model
  (python3 bench/gpu_llm/make_eeve_random.py /tmp/llmbench/model --layers "${LAYERS:-48}" > "$OUT/weights.txt" 2>&1) &
  WPID=$!
fi
VOICE_TARGETS=; [ "${SOVITS:-1}" = 1 ] && VOICE_TARGETS="gpt-sovits sovits_bench bench_s1_decode"
TESTS=ON bash bench/gpu/build.sh troupe eeve-lora llama_batch kernel_bench llama_unit llama_conformance $VOICE_TARGETS > "$OUT/build.txt" 2>&1
el "build rc=$?"; tail -3 "$OUT/build.txt"
source bench/gpu/env.sh
timeout 120 /tmp/troupe-build/bin/llama_unit --run_test=fused_decode_kernels_match_aten > "$OUT/llama_unit_cuda.txt" 2>&1
el "llama_unit fused kernels (cuda) rc=$?"; tail -4 "$OUT/llama_unit_cuda.txt"
TROUPE_TEST_DEVICE=cuda timeout 150 /tmp/troupe-build/bin/llama_conformance > "$OUT/llama_conformance_cuda.txt" 2>&1
el "llama_conformance (cuda) rc=$?"; tail -3 "$OUT/llama_conformance_cuda.txt"
TROUPE_DECODE_ATTENTION=vec TROUPE_TEST_DEVICE=cuda timeout 90 /tmp/troupe-build/bin/llama_conformance \
  --run_test=static_decode_session_matches_cached_forward > "$OUT/llama_conformance_vec.txt" 2>&1
el "llama_conformance decode session, vec attention (cuda) rc=$?"; tail -3 "$OUT/llama_conformance_vec.txt"
TROUPE_TEST_DEVICE=cuda timeout 120 /tmp/troupe-build/bin/llama_batch > "$OUT/llama_batch_cuda.txt" 2>&1
el "llama_batch (cuda) rc=$?"; tail -4 "$OUT/llama_batch_cuda.txt"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
PEAK=4800; grep -q H100 "$OUT/gpu.txt" && PEAK=3350   # GB/s: H200 4.8 TB/s, H100 SXM 3.35 TB/s
for kb in "" "--gemv 1" "--nf4 --gemv 1" "--nf4 --gemv 2"; do
  timeout 60 /tmp/troupe-build/bin/kernel_bench --peak-gbs $PEAK $kb >> "$OUT/kernel_bench.txt" 2>&1
done
timeout 60 /tmp/troupe-build/bin/kernel_bench --attention 2 --peak-gbs $PEAK >> "$OUT/kernel_bench.txt" 2>&1
el "kernel_bench"; cat "$OUT/kernel_bench.txt"
[ -n "$WPID" ] && { wait "$WPID"; el "weights rc=$?"; }
[ "$(left)" -gt "${LLM_MIN:-300}" ] && { TROUPE_ROWS=${TROUPE_ROWS-none:1 nf4:1} HF_ROWS=${HF_ROWS-bf16 bf16:compiled bf16:compiled:merged} TROUPE=/tmp/troupe-build/bin/troupe \
  timeout $(( $(left) - ( ${SOVITS:-1} == 1 ? 130 : 10 ) )) bash bench/gpu_llm/gpu_llm_bench.sh /tmp/llmbench "${LAYERS:-48}" > "$OUT/llm_bench.txt" 2>&1
  el "gpu_llm_bench rc=$?"; tail -22 "$OUT/llm_bench.txt"; cp /tmp/llmbench/results.jsonl "$OUT/llm_results.jsonl" 2>/dev/null; }
[ "${SOVITS:-1}" = 1 ] && [ "$(left)" -gt 100 ] && { timeout "$(left)" bash bench/gpu_sovits/gpu_sovits_bench.sh > "$OUT/sovits_bench.txt" 2>&1
  el "sovits_bench rc=$?"; tail -20 "$OUT/sovits_bench.txt"; }
el "done"
