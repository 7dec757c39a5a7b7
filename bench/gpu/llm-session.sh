#!/usr/bin/env bash
# GPU machine: build troupe, cross-check a Troupe-trained adapter against transformers+peft, then the
# EEVE-size batch-1 decode benchmark (Troupe vs transformers+peft). Usage: bash bench/gpu/llm-session.sh
set -uo pipefail
t0=$(date +%s)
bash bench/gpu/build.sh troupe || exit 1
source bench/gpu/env.sh
echo "build: $(( $(date +%s) - t0 )) s"
echo "== peft cross-check"
bash bench/gpu/peft-crosscheck.sh /tmp/troupe-build/bin/troupe .gpu/conformance/llama-lora/base datasets/persona/train.jsonl 2>&1 | tail -3
echo "peft: $(( $(date +%s) - t0 )) s"
echo "== decode benchmark"
TROUPE=/tmp/troupe-build/bin/troupe NEW_TOKENS=128 timeout ${BENCH_SECONDS:-300} bash bench/gpu_llm/gpu_llm_bench.sh /tmp/llmbench 48 2>&1 | tail -20
echo "total: $(( $(date +%s) - t0 )) s"
