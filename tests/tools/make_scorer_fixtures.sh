#!/usr/bin/env bash
# Makes every scorer fixture set (whisper, wavlm-sv, utmos) into OUT_DIR, on the CPU (CUDA hidden) so the
# outputs are deterministic. Each generator runs on its own; one failing does not stop the others (the exit
# status says whether all succeeded). Needs torch, torchaudio, transformers, safetensors, numpy, and SpeechMOS'
# model code in tests/utmos/tools/third_party/ (see make_utmos_fixtures.py).
# Usage: tests/tools/make_scorer_fixtures.sh OUT_DIR
set -u
out=${1:?usage: make_scorer_fixtures.sh OUT_DIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
export CUDA_VISIBLE_DEVICES=""
export PYTHONHASHSEED=0
mkdir -p "$out"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee "$out/versions.txt"
fail=0
run() {
  local label=$1; shift
  echo "== $label: $*"
  if python3 "$@" > "$out/$label.log" 2>&1; then echo "   ok"; else echo "   FAILED (see $label.log)"; fail=1; fi
  tail -n 5 "$out/$label.log"
}
run whisper-v80 "$here/tests/whisper/tools/make_whisper_fixtures.py" "$out/whisper" --name v80 --seed 7
run whisper-v128 "$here/tests/whisper/tools/make_whisper_fixtures.py" "$out/whisper" --name v128 --seed 11 \
  --mels 128 --d-model 40 --heads 5 --enc-layers 2 --dec-layers 3 --ffn 48 --shard
run wavlm-base "$here/tests/wavlm-sv/tools/make_wavlm_sv_fixtures.py" "$out/wavlm-sv" --name base --variant base --seed 5
run wavlm-stable "$here/tests/wavlm-sv/tools/make_wavlm_sv_fixtures.py" "$out/wavlm-sv" --name stable --variant stable \
  --seed 9 --hidden 24 --layers 3 --heads 3 --ffn 40
run utmos "$here/tests/utmos/tools/make_utmos_fixtures.py" "$out/utmos" --name tiny --seed 3
du -sh "$out"/*/* 2>/dev/null
exit $fail
