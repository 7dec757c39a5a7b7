#!/usr/bin/env bash
# Installs Troupe into a temporary prefix, builds tests/out-of-tree against it with find_package(troupe),
# and checks that the installed troupe CLI loads the plugin, lists its command and runs it.
set -euo pipefail
build_dir=$1 source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/out-of-tree" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/prefix/bin/troupe" --plugin-path "$work/build/plugins" plugins hello-voice)
echo "$out"
grep -q "status:       loaded" <<<"$out"
help=$("$work/prefix/bin/troupe" --plugin-path "$work/build/plugins" --help)
grep -q "hello .*greets (an out-of-tree plugin's command) \[hello-voice\]" <<<"$help"
said=$("$work/prefix/bin/troupe" --plugin-path "$work/build/plugins" hello --name 세상)
echo "$said"
[ "$said" = "hello, 세상, from hello-voice (0.5 s of silence)" ]
