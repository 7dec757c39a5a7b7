#!/usr/bin/env bash
# GPU machine: build everything (LibTorch 2.11) with the tests, run the test suite and the demo,
# and bring back the demo's scene and eval outputs. Usage: bash bench/gpu/e2e-session.sh
set -uo pipefail
t0=$(date +%s)
TESTS=ON bash bench/gpu/build.sh || true
source bench/gpu/env.sh
echo "build: $(( $(date +%s) - t0 )) s"
(cd /tmp/troupe-build && timeout 240 ctest -j 8 --timeout 120 > $OUT/ctest.log 2>&1); grep -E "tests passed|Failed|Timeout|\*\*\*" $OUT/ctest.log | head -30
echo "tests: $(( $(date +%s) - t0 )) s"
timeout 150 bash scripts/demo.sh /tmp/troupe-build > $OUT/demo.log 2>&1; echo "demo rc=$?"
tail -25 $OUT/demo.log
cp out/demo/scene/manifest.json $OUT/scene-manifest.json 2>/dev/null; cp out/demo/scene/subtitles.srt $OUT/ 2>/dev/null
cp out/demo/eval/report.md $OUT/eval-report.md 2>/dev/null
echo "total: $(( $(date +%s) - t0 )) s"
