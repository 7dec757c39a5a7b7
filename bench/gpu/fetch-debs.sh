#!/usr/bin/env bash
# Downloads (does not install) the Debian 12 packages the GPU-machine build needs into .gpu/debs
# (ignored by git), to be carried to the device with `carry: [".gpu"]`. Run from the repo root.
set -euo pipefail
DIR=.gpu/debs
PKGS=(
  libboost1.74-dev
  libboost-program-options1.74-dev libboost-program-options1.74.0
  libboost-filesystem1.74-dev libboost-filesystem1.74.0
  libboost-test1.74-dev libboost-test1.74.0
  libboost-system1.74-dev libboost-system1.74.0
  libtomlplusplus-dev libtomlplusplus3
  libfmt-dev libfmt9
  nlohmann-json3-dev
  libsndfile1-dev libsndfile1 libflac12 libogg0 libvorbis0a libvorbisenc2 libopus0 libmpg123-0 libmp3lame0
  libespeak-ng-dev libespeak-ng1 espeak-ng-data libpcaudio0 libsonic0
)
grep -qxF "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
mkdir -p "$DIR"
apt-get update -qq
(cd "$DIR" && apt-get download "${PKGS[@]}" 2>&1 | grep -v unsandboxed || true)
echo "debs: $(du -cb "$DIR"/*.deb | tail -1 | cut -f1) bytes"
