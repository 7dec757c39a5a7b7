#!/usr/bin/env bash
# GPU machine: build everything (LibTorch 2.11) with the tests, run the test suite and the demo,
# and bring back the demo's scene and eval outputs. Usage: bash bench/gpu/e2e-session.sh
set -uo pipefail
t0=$(date +%s)
PFX=/tmp/debdeps; mkdir -p $PFX; for f in .gpu/debs/*.deb; do dpkg -x "$f" $PFX; done; rm -rf $PFX/usr/share/doc
export LD_LIBRARY_PATH="$PFX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export ESPEAK_DATA_PATH="$PFX/usr/lib/x86_64-linux-gnu/espeak-ng-data"
TORCH_CMAKE=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B /tmp/tb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PFX/usr" > $OUT/configure.log 2>&1 || { tail -30 $OUT/configure.log; exit 1; }
cmake --build /tmp/tb -j 16 -- -k 0 > $OUT/build.log 2>&1
grep -E "error:|FAILED" $OUT/build.log | head -20
echo "build: $(( $(date +%s) - t0 )) s"
export TROUPE_CONFORMANCE_DIR=$PWD/.gpu/conformance
(cd /tmp/tb && timeout 240 ctest -j 8 --timeout 120 > $OUT/ctest.log 2>&1); grep -E "tests passed|Failed|Timeout|\*\*\*" $OUT/ctest.log | head -30
echo "tests: $(( $(date +%s) - t0 )) s"
timeout 150 bash scripts/demo.sh /tmp/tb > $OUT/demo.log 2>&1; echo "demo rc=$?"
tail -25 $OUT/demo.log
cp out/demo/scene/manifest.json $OUT/scene-manifest.json 2>/dev/null; cp out/demo/scene/subtitles.srt $OUT/ 2>/dev/null
cp out/demo/eval/report.md $OUT/eval-report.md 2>/dev/null
rm -f $OUT/configure.log
echo "total: $(( $(date +%s) - t0 )) s"
