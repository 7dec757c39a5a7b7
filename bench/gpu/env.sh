# Run-time paths on the GPU machine after bench/gpu/build.sh: the unpacked .debs' libraries and
# espeak-ng data, and the conformance copy carried under .gpu/.
export LD_LIBRARY_PATH="/tmp/debdeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export ESPEAK_DATA_PATH="/tmp/debdeps/usr/lib/x86_64-linux-gnu/espeak-ng-data"
export TROUPE_CONFORMANCE_DIR="${TROUPE_CONFORMANCE_DIR:-$PWD/.gpu/conformance}"
