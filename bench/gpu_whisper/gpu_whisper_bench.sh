#!/usr/bin/env bash
# Whisper transcription speed: Troupe (bench/gpu_whisper/whisper_bench) vs transformers (hf_whisper_bench.py)
# on the same random-weight Whisper-large-v3-size folder (make_random_whisper.py) and the same synthetic audio,
# in one run. Every decode runs to TOKENS per 30 s window (end-of-text is pushed down), so both do equal work.
# Run from the repository root on the GPU machine: bash bench/gpu_whisper/gpu_whisper_bench.sh
# Environment: DEVICE (cuda), DTYPE (float16), AUDIO_SECONDS (240), TOKENS per window (120), BEAMS (1),
# BATCH windows (8), RUNS (3, best of, after a warm-up), WORK (/tmp/troupe-gpu-whisper), PYTHON (python3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEVICE=${DEVICE:-cuda}; DTYPE=${DTYPE:-float16}; SECONDS_=${AUDIO_SECONDS:-240}; TOKENS=${TOKENS:-120}
BEAMS=${BEAMS:-1}; BATCH=${BATCH:-8}; RUNS=${RUNS:-3}; WORK=${WORK:-/tmp/troupe-gpu-whisper}; PY=${PYTHON:-python3}
mkdir -p "$WORK"
if [ "$DEVICE" != cpu ]; then
  (cd "$ROOT" && bash bench/gpu/build.sh whisper_bench) >&2
  source "$ROOT/bench/gpu/env.sh"
  BIN=/tmp/troupe-build/bin/whisper_bench
else
  BIN=${BIN:-$ROOT/build/bin/whisper_bench}
fi
[ -f "$WORK/model/config.json" ] || CUDA_VISIBLE_DEVICES="" "$PY" "$ROOT/bench/gpu_whisper/make_random_whisper.py" "$WORK/model" --dtype "$DTYPE" >&2
"$BIN" "$WORK/model" "$SECONDS_" "$DEVICE" "$DTYPE" "$TOKENS" "$BEAMS" "$BATCH" "$RUNS"
"$PY" "$ROOT/bench/gpu_whisper/hf_whisper_bench.py" "$WORK/model" "$SECONDS_" "$DEVICE" "$DTYPE" "$TOKENS" "$BEAMS" "$BATCH" "$RUNS"
