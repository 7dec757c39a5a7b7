#!/usr/bin/env bash
# Extracts the few upstream GPT-SoVITS python files that S1 and S2 inference and the training
# benchmark (train_bench.sh: ScaledAdam, the LR schedule, S1 dataset/sampler, S2 losses) need (AR/…, module/…,
# the v2 symbol table, HParams, the v2 configs) from the local mirror into .gpu/upstream/ (ignored by
# git, carried to the GPU machine with .gpu/). Runs on the dev machine; never commit the output.
#
# usage: bash bench/gpu_sovits/fetch-upstream.sh MIRROR_GIT_DIR
#   MIRROR_GIT_DIR: a clone (or bare git directory) of github:RVC-Boss/GPT-SoVITS that has the commit
#   the conformance data was made with (UPSTREAM_COMMIT).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${1:?usage: fetch-upstream.sh MIRROR_GIT_DIR (a clone of RVC-Boss/GPT-SoVITS)}
COMMIT=${UPSTREAM_COMMIT:-48b1a0169a28582a8984402f82cf438d3bfa6aca}
OUT="$ROOT/.gpu/upstream"
grep -qx '/.gpu/' "$(git -C "$ROOT" rev-parse --git-common-dir)/info/exclude" 2>/dev/null || { echo "add /.gpu/ to .git/info/exclude first" >&2; exit 1; }
git --git-dir="$MIRROR" cat-file -e "$COMMIT^{commit}" 2>/dev/null || git -C "$MIRROR" cat-file -e "$COMMIT^{commit}" \
  || { echo "commit $COMMIT not in $MIRROR" >&2; exit 1; }
g() { if [ -d "$MIRROR/.git" ]; then git -C "$MIRROR" "$@"; else git --git-dir="$MIRROR" "$@"; fi; }

FILES="
AR/__init__.py
AR/models/__init__.py
AR/models/t2s_model.py
AR/models/utils.py
AR/models/t2s_model_cudagraph.py
AR/models/structs_cudagraph.py
AR/models/embedding_cudagraph.py
AR/modules/__init__.py
AR/modules/embedding.py
AR/modules/transformer.py
AR/modules/activation.py
AR/modules/scaling.py
AR/modules/patched_mha_with_cache.py
AR/modules/optim.py
AR/modules/lr_schedulers.py
AR/data/__init__.py
AR/data/dataset.py
AR/data/bucket_sampler.py
module/__init__.py
module/models.py
module/modules.py
module/attentions.py
module/commons.py
module/mrte_model.py
module/quantize.py
module/core_vq.py
module/distrib.py
module/ddp_utils.py
module/transforms.py
module/mel_processing.py
module/losses.py
module/data_utils.py
text/__init__.py
text/symbols.py
text/symbols2.py
utils.py
configs/s1longer-v2.yaml
configs/s2.json
"
rm -rf "$OUT"
for f in $FILES; do
  mkdir -p "$OUT/GPT_SoVITS/$(dirname "$f")"
  g show "$COMMIT:GPT_SoVITS/$f" > "$OUT/GPT_SoVITS/$f"
done
echo "$COMMIT" > "$OUT/COMMIT"
# The S1 config as JSON too (the GPU machine's python may lack PyYAML).
python3 - "$OUT/GPT_SoVITS/configs/s1longer-v2.yaml" "$OUT/s1longer-v2.json" <<'PY' || echo "no PyYAML here: make_random_v2.py will need it" >&2
import json, sys, yaml
json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=1)
PY
du -sh "$OUT"
