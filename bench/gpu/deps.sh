# Sourced by bench/gpu/build.sh and bench/gpu/test-sanitize.sh on the GPU machine (repo root): unpacks
# the carried .debs (bench/gpu/fetch-debs.sh) into /tmp/debdeps, points pkg-config at them where the
# image has no copy, and sets TORCH_CMAKE (the image's pip LibTorch) and the run-time paths (env.sh).
PFX=/tmp/debdeps
mkdir -p "$PFX"
for f in .gpu/debs/*.deb; do dpkg -x "$f" "$PFX"; done
rm -rf "$PFX/usr/share/doc"
# The image has no cpp-httplib: point pkg-config at the unpacked copy, without the OpenSSL/zlib/brotli
# requirements the Debian .pc names (the server uses plain HTTP; those -dev packages are not carried).
if ! pkg-config --exists cpp-httplib 2>/dev/null && [ -f "$PFX/usr/include/httplib.h" ]; then
  mkdir -p "$PFX/pc"
  cat > "$PFX/pc/cpp-httplib.pc" <<PC
prefix=$PFX/usr
includedir=\${prefix}/include
libdir=\${prefix}/lib/x86_64-linux-gnu
Name: cpp-httplib
Description: cpp-httplib unpacked from the carried .deb
Version: 0.11.4
Libs: -L\${libdir} -lcpp-httplib
Cflags: -I\${includedir}
PC
  export PKG_CONFIG_PATH="$PFX/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
TORCH_CMAKE=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
