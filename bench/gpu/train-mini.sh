#!/usr/bin/env bash
# On the GPU machine (from the repo root, with .gpu carried): build Troupe, train the embedded
# troupe-mini base model and one LoRA adapter per character on CUDA, and copy the results to $OUT.
#   bash bench/gpu/train-mini.sh
set -euo pipefail
t0=$(date +%s)
bash bench/gpu/build.sh troupe
source bench/gpu/env.sh
troupe=/tmp/troupe-build/bin/troupe
echo "build: $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
mkdir -p /tmp/recipes
for f in models/troupe-mini/recipes/*.toml; do sed 's/^device = "cpu"/device = "cuda"/' "$f" > /tmp/recipes/$(basename "$f"); done
$troupe train base --config /tmp/recipes/base.toml 2>&1 | tee $OUT/train-base.log | grep -E "tokenizer|examples|step .*valid|trained|error" || true
for id in bujang sinip daeri timjang client; do
  $troupe train lora --config /tmp/recipes/lora-$id.toml 2>&1 | tee $OUT/train-lora-$id.log | grep -E "examples|valid|trained|error" | tail -3 || true
done
echo "total: $(( $(date +%s) - t0 )) s"
tar -C . -czf $OUT/troupe-mini.tar.gz models/troupe-mini
tar -C . -czf $OUT/adapters.tar.gz characters/*/adapter
ls -la $OUT
