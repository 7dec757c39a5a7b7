#!/usr/bin/env bash
# Builds the SSL encoder, the wav2vec2-ctc plugin and their tests on the GPU machine against the image's
# LibTorch (2.11) and runs them on CPU and CUDA (TROUPE_TEST_DEVICE). From the repo root, with the Debian
# packages of bench/gpu/fetch-debs.sh in .gpu/debs and a copy of ../shared/conformance/{audio,hubert,wav2vec2-ctc}
# in an ignored folder that travels with `carry`, e.g.:
#   mkdir -p .ssl-gpu/conformance && cp -r ../shared/conformance/{audio,hubert,wav2vec2-ctc} .ssl-gpu/conformance/
#   run: TROUPE_CONFORMANCE_DIR=.ssl-gpu/conformance bash tests/ssl/tools/gpu_check.sh   (carry .gpu, .ssl-gpu)
# With REGENERATE=1 it first remakes tests/ssl/data with make_ssl_fixtures.py (transformers + torchaudio there).
set -uo pipefail
ROOT=$(pwd)
FIXTURES=$(realpath "${TROUPE_CONFORMANCE_DIR:?set TROUPE_CONFORMANCE_DIR to a copy of the shared fixtures}")
if [ "${REGENERATE:-0}" = 1 ]; then
  python3 tests/ssl/tools/make_ssl_fixtures.py /tmp/sslfx || exit 1
  cp -r /tmp/sslfx/* tests/ssl/data/
  [ -n "${OUT:-}" ] && (cd /tmp/sslfx && tar czf "$OUT/ssl_fixtures.tgz" .)
fi
PFX=/tmp/debdeps; mkdir -p $PFX
for f in .gpu/debs/*.deb; do dpkg -x "$f" $PFX; done
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
TORCH_CMAKE=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH="$PFX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
B=/tmp/troupe-build
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=ON -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PFX/usr" \
  > /tmp/ssl-configure.log 2>&1 || { tail -30 /tmp/ssl-configure.log; exit 1; }
cmake --build $B -j "$(nproc)" --target test_hubert_conformance test_wav2vec2_ctc_conformance test_ssl_resample \
  test_ctc_decode test_wav2vec2_ctc_plugin wav2vec2-ctc > /tmp/ssl-build.log 2>&1 || { grep -E "error|FAILED" /tmp/ssl-build.log | head -40; exit 1; }
rc=0
for dev in cpu cuda; do
  echo "== device $dev"
  (cd $B && TROUPE_CONFORMANCE_DIR=$FIXTURES TROUPE_TEST_DEVICE=$dev \
     ctest -R "ssl_resample|ctc_decode|hubert_conformance|wav2vec2_ctc" --output-on-failure) || rc=1
done
exit $rc
