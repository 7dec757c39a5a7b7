#!/usr/bin/env bash
# GPU-machine session for the trainer: build (16 cores), run the trainer tests, then train the
# embedded troupe-mini model and the character adapters on CUDA. Results go to $OUT.
set -uo pipefail
t0=$(date +%s)
PFX=/tmp/debdeps; mkdir -p $PFX; for f in .gpu/debs/*.deb; do dpkg -x "$f" $PFX; done; rm -rf $PFX/usr/share/doc
export LD_LIBRARY_PATH="$PFX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
TORCH_CMAKE=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B /tmp/tb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PFX/usr" > $OUT/configure.log 2>&1 || { tail -30 $OUT/configure.log; exit 1; }
cmake --build /tmp/tb -j 16 --target test_trainer troupe -- -k 0 > $OUT/build.log 2>&1
grep -E "error|FAILED" $OUT/build.log | head -30
echo "build: $(( $(date +%s) - t0 )) s"
export TROUPE_CONFORMANCE_DIR=$PWD/.gpu/conformance
[ -x /tmp/tb/bin/test_trainer ] && /tmp/tb/bin/test_trainer 2>&1 | tail -15
echo "tests: $(( $(date +%s) - t0 )) s"
[ -x /tmp/tb/bin/troupe ] || exit 1
mkdir -p /tmp/recipes
for f in models/troupe-mini/recipes/*.toml; do sed 's/^device = "cpu"/device = "cuda"/' "$f" > /tmp/recipes/$(basename "$f"); done
timeout 300 /tmp/tb/bin/troupe train base --config /tmp/recipes/base.toml > $OUT/train-base.log 2>&1
echo "base rc=$?: $(( $(date +%s) - t0 )) s"; grep -E "tokenizer|examples|valid|trained|error" $OUT/train-base.log | tail -12
for id in bujang sinip daeri timjang client; do
  timeout 120 /tmp/tb/bin/troupe train lora --config /tmp/recipes/lora-$id.toml > /tmp/train-lora-$id.log 2>&1
  echo "lora $id rc=$?: $(( $(date +%s) - t0 )) s"; grep -E "valid|trained|error" /tmp/train-lora-$id.log | tail -2
done
tar -czf $OUT/troupe-mini.tar.gz models/troupe-mini
tar -czf $OUT/adapters.tar.gz characters/*/adapter
rm -f $OUT/configure.log
ls -la $OUT
