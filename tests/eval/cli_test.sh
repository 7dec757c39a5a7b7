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
echo ok
