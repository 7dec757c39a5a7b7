#!/usr/bin/env bash
# GPU decode benchmark of the Llama backend vs transformers+peft; see gpu_llm/gpu_llm_bench.sh.
exec "$(dirname "$0")/gpu_llm/gpu_llm_bench.sh" "$@"
