#!/bin/sh
# `troupe eval` on hostile or nonsense input (issue #12, "Bad input"): every case is refused with the
# exit code docs/cli.md gives and a message naming the file, and nothing is written outside --out.
set -eu
BIN="$1"; PLUGINS="$2"; TESTPLUGINS="$3"; FIXTURES="$4"; OUT="$5"
rm -rf "$OUT"; mkdir -p "$OUT/work"
G="--plugin-path $TESTPLUGINS --plugin-path $PLUGINS --characters $FIXTURES/characters -q"
fail() { echo "FAIL: $*"; exit 1; }

# expect CODE TEXT ARGS...: runs troupe, checks the exit code and that stderr mentions TEXT.
expect() {
  want=$1; text=$2; shift 2
  set +e; "$BIN" $G "$@" > "$OUT/stdout" 2> "$OUT/stderr"; got=$?; set -e
  [ "$got" = "$want" ] || fail "troupe $* exited $got, not $want: $(cat "$OUT/stderr")"
  grep -q -- "$text" "$OUT/stderr" || fail "troupe $*: stderr lacks '$text': $(cat "$OUT/stderr")"
}
suite() {  # suite NAME BODY: a suite file beside the fixture's calibration
  printf '%s\n' "$2" > "$OUT/$1.toml"; echo "$OUT/$1.toml"
}
BASE='[text]
characters = ["alpha"]'

# the suite name becomes an output folder: a path in it is refused, nothing appears outside
S=$(suite escape "name = \"../../../troupe-escape-$$\"
$BASE")
(cd "$OUT/work" && expect 3 "escape.toml:1:" eval --suite "$S")
[ ! -e "$OUT/../../troupe-escape-$$" ] && [ ! -e "/tmp/troupe-escape-$$" ] || fail "a file was written outside"
S=$(suite slash "name = \"a/b\"
$BASE")
expect 3 "name 'a/b' must be" eval --suite "$S"

# sizes and counts have ranges
expect 3 "text.repeats must be at least 1 and at most 100" eval --suite "$(suite repeats "$BASE
repeats = 100000000")" --out "$OUT/r"
expect 3 "latency_limit_s must be above 0" eval --suite "$(suite latency "$BASE
latency_limit_s = -1")" --out "$OUT/r"
expect 3 "copy.threshold must be at least 0 and at most 1" eval --suite "$(suite threshold "$BASE
[copy]
threshold = 7")" --out "$OUT/r"
expect 3 "max_new_tokens must be" eval --suite "$(suite tokens "$BASE
max_new_tokens = 100000")" --out "$OUT/r"
# a batch size out of 1-64, in the suite (3, with its place) or on the command line (2)
expect 3 "batch_size.toml:3:.*text.batch_size must be at least 1 and at most 64" eval --suite "$(suite batch_size "$BASE
batch_size = 100000")" --out "$OUT/r"
expect 3 "text.batch_size must be at least 1" eval --suite "$(suite batch_zero "$BASE
batch_size = 0")" --out "$OUT/r"
expect 2 "batch-size must be between 1 and 64 (got 0)" eval --suite "$FIXTURES/suite.toml" --out "$OUT/r" --batch-size 0
expect 2 "batch-size must be between 1 and 64 (got 1000000)" eval --suite "$FIXTURES/suite.toml" --out "$OUT/r" --batch-size 1000000
# a voice sentence id names an audio file: one safe name
expect 3 "voice sentence id 'a/b' must be" eval --suite "$(suite sid '[voice]
[[voice.sentences]]
id = "a/b"
text = "안녕하세요"')" --out "$OUT/r"
# a suite without cases, and one whose characters give none
expect 3 "the suite has no cases" eval --suite "$(suite empty 'name = "empty"')" --out "$OUT/r"
expect 3 "expands to no cases" eval --suite "$(suite nobody '[text]
characters = ["nobody"]')" --out "$OUT/r"
# an unknown scorer plugin is "not found", a scorer of the wrong kind an invalid file
expect 4 "scorers.transcriber = 'no-such-asr' is no plugin" eval --suite "$(suite scorer "$BASE
[scorers]
transcriber = \"no-such-asr\"")" --out "$OUT/r"
expect 3 "is a text-backend plugin, not a transcriber" eval --suite "$(suite kind "$BASE
[scorers]
transcriber = \"eval-fake\"")" --out "$OUT/r"
# a path a suite names may not lead out of the suite's folder or the repository, symlinks included
ln -s /etc/passwd "$OUT/calib-link.json"
expect 3 "outside the suite's folder" eval --suite "$(suite link "$BASE
[scorers]
similarity_calibration = \"calib-link.json\"")" --out "$OUT/r"
# a folder as --suite, a file as --out, a missing suite
expect 2 "is a folder" eval --suite "$OUT"
: > "$OUT/file"
expect 2 "must be a folder" eval --suite "$FIXTURES/suite.toml" --out "$OUT/file"
expect 4 "not found" eval --suite "$OUT/missing.toml"

# compare: a results.json of the wrong shape names the file (3), a missing one is not found (4)
printf '{"report_rows": {"a": 1}}\n' > "$OUT/shape.json"
expect 3 "shape.json: not a troupe eval results.json" eval compare "$OUT/shape.json" "$OUT/shape.json"
printf '{"report_rows": [{"scope": 1}]}\n' > "$OUT/shape2.json"
expect 3 "report_rows\[0\].scope is not a string" eval compare "$OUT/shape2.json" "$OUT/shape2.json"
printf '[1, 2]\n' > "$OUT/shape3.json"
expect 3 "shape3.json: not a troupe eval results.json" eval compare "$OUT/shape3.json" "$OUT/shape3.json"
expect 4 "no results at" eval compare "$OUT/none.json" "$OUT/none.json"

# a corrupt line in the middle of the journal loses only that line: the cases after it stay done
"$BIN" $G eval --suite "$FIXTURES/suite.toml" --out "$OUT/j" > /dev/null
python3 - "$OUT/j/cases.jsonl" <<'PY'
import json, sys
path = sys.argv[1]
lines = open(path, encoding="utf-8").read().split("\n")
def is_case(l):
    try:
        j = json.loads(l)
    except ValueError:
        return False
    return isinstance(j, dict) and j.get("type") not in ("header", "event") and "id" in j
rows = [i for i, l in enumerate(lines) if is_case(l)]
k = rows[len(rows) // 3]
lines[k] = lines[k][: len(lines[k]) // 2]  # torn in the middle of the file, cases after it
open(path, "w", encoding="utf-8").write("\n".join(lines))
open(path + ".expected", "w").write(str(len(rows)))
PY
"$BIN" $G --json eval --suite "$FIXTURES/suite.toml" --out "$OUT/j" > "$OUT/resume.json"
python3 - "$OUT/resume.json" "$OUT/j/cases.jsonl" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
assert summary["ran"] == 1, summary  # only the torn case runs again, not every case after it
notes = " ".join(summary["notes"])
assert "corrupt line" in notes and "last line" not in notes, notes
rows = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
ids = [r["id"] for r in rows if r.get("type") not in ("header", "event") and "id" in r]
assert len(ids) == len(set(ids)) == int(open(sys.argv[2] + ".expected").read()), ids
PY
echo ok
