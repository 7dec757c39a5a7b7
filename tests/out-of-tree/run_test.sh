#!/usr/bin/env bash
# Installs Troupe into a temporary prefix, builds tests/out-of-tree against it with find_package(troupe),
# and checks that the installed troupe CLI loads the plugin.
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
