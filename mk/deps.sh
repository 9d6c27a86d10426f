#!/bin/sh
# Makes sure the build's Debian packages and the CUDA toolkit are present.
# As root it installs what is missing; otherwise it prints the exact command.
set -e
need=""
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
[ -f /usr/include/uthash.h ] || need="$need uthash-dev"
command -v pkg-config >/dev/null || need="$need pkg-config"   # tests/t_install.sh
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "gqshim: installing$need"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; }
    else
        echo "gqshim: missing packages; run: sudo apt-get install -y$need" >&2
        exit 1
    fi
fi
cuda=${CUDA_HOME:-/usr/local/cuda}
if [ ! -f "$cuda/include/cuda.h" ] || [ ! -x "$cuda/bin/nvcc" ]; then
    echo "gqshim: no CUDA toolkit at $cuda (set CUDA_HOME to the toolkit's folder)" >&2
    exit 1
fi
