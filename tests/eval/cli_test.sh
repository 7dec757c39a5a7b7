#!/bin/sh
# `troupe eval` end to end: run the fixture suite, kill nothing, rerun (all cases resumed),
# rebuild the reports, compare two runs; every file must exist and the compare must show no changes.
set -eu
BIN="$1 eval"; PLUGINS="$2"; TESTPLUGINS="$3"; FIXTURES="$4"; OUT="$5"
rm -rf "$OUT"
G="--plugin-path $TESTPLUGINS --plugin-path $PLUGINS --characters $FIXTURES/characters -q"
$BIN $G --suite "$FIXTURES/suite.toml" --out "$OUT/a"
for f in cases.jsonl results.json report.md report.html; do test -s "$OUT/a/$f"; done
grep -q "| 항목 | 지표 | 목표치 | 결과치 | 판정 |" "$OUT/a/report.md"
$BIN $G --json --suite "$FIXTURES/suite.toml" --out "$OUT/a" | grep -q '"ran": 0'
$BIN $G --suite "$FIXTURES/suite.toml" --out "$OUT/b" --limit 3
$BIN $G --suite "$FIXTURES/suite.toml" --out "$OUT/b"
$BIN $G --suite "$FIXTURES/suite.toml" --out "$OUT/b" --report-only
$BIN $G compare "$OUT/a" "$OUT/b" -o "$OUT/compare.md" > /dev/null
grep -A2 "판정이 바뀐 지표" "$OUT/compare.md" | grep -q "없음"
# a broken suite is a usage/input error with a non-zero exit
printf 'name = "x"\n[text]\nrepeats = "two"\n' > "$OUT/bad.toml"
if $BIN $G --suite "$OUT/bad.toml" --out "$OUT/c" 2>/dev/null; then exit 1; fi
# a scene's parallel group with a text backend that has no batch support (BatchTextBackend): the
# lines are generated one by one and equal those of --batch-size 1; no line is marked as batched
cat > "$OUT/parallel.toml" <<'EOF'
title = "fallback"
cast = ["alpha", "beta"]
[[beats]]
speaker = "alpha"
situation = "회식 장소를 정한다"
[[beats]]
speaker = "beta"
situation = "보고서 마감이 다가온다"
parallel = true
[[beats]]
speaker = "alpha"
situation = "회식 장소를 정한다"
parallel = true
answers = "alpha"
EOF
$1 $G scene "$OUT/parallel.toml" --out "$OUT/scene-8"
$1 $G scene "$OUT/parallel.toml" --out "$OUT/scene-1" --batch-size 1
cmp "$OUT/scene-8/script.txt" "$OUT/scene-1/script.txt"
cmp "$OUT/scene-8/manifest.json" "$OUT/scene-1/manifest.json"
grep -q '"parallel_group": 1' "$OUT/scene-8/manifest.json"
if grep -q '"batch"' "$OUT/scene-8/timing.json"; then exit 1; fi
echo ok
