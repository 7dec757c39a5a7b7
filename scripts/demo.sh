#!/usr/bin/env bash
# The main job on the embedded defaults (called by `./run demo` after the build):
# list plugins and characters, have every character speak, render the sample scene, run the seed eval.
set -euo pipefail
build_dir=${1:-build}
troupe="$build_dir/bin/troupe"
out=out/demo
mkdir -p "$out"

echo "== plugins"
"$troupe" plugins || echo "(some plugins failed to load: listed above with the stage and reason)"
echo
echo "== characters"
"$troupe" characters
echo

echo "== every character speaks ($out/<id>.wav)"
line="안녕하세요. 오늘도 좋은 하루 보내세요."
for id in $("$troupe" characters --json | python3 -c 'import json,sys; print(" ".join(c["id"] for c in json.load(sys.stdin)["characters"]))'); do
  if said=$("$troupe" --quiet --json say "$id" --situation "월요일 아침, 팀원들과 인사를 나눈다" --action "가볍게 손을 든다" 2>/dev/null); then
    text=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["text"])' <<<"$said")
  else
    text=""
  fi
  [ -n "$text" ] || { echo "($id: no text backend available; speaking a greeting)"; text=$line; }
  "$troupe" speak "$id" --text "$text" -o "$out/$id.wav"
  echo "   \"$text\""
done
echo

if "$troupe" scene --help >/dev/null 2>&1; then
  echo "== scene: scenes/monday-meeting.toml"
  "$troupe" scene scenes/monday-meeting.toml --out "$out/scene" || echo "(some lines of the scene failed; see $out/scene/manifest.json)"
  echo
fi
if "$troupe" eval --help >/dev/null 2>&1 && [ -f eval/suites/seed.toml ]; then
  echo "== eval: eval/suites/seed.toml"
  "$troupe" eval --suite eval/suites/seed.toml --out "$out/eval" || true
  echo
fi
echo "Done. Outputs are in $out/:"
ls -1 "$out"
