#!/usr/bin/env bash
# Checks ollama-fleet on a machine with an NVIDIA GPU: runs `detect --json` and `plan --json`, compares
# NVML's figures with nvidia-smi's for the same GPUs, and prints one JSON report (docs/hardware.md).
# Needs `npm ci && npm run build` first. Exit status: 0 pass (or nothing to compare), 1 mismatch,
# 2 detect/plan failed or not built.
#   scripts/gpu-check.sh [--nvml-library PATH] [--nvidia-smi PATH]
set -euo pipefail
# Bash built-ins only (no dirname), so the script runs with a PATH holding just node.
here="${BASH_SOURCE[0]}"
[[ "$here" == */* ]] || here="./$here"
root="$(cd "${here%/*}/.." && pwd)"
entry="$root/dist/src/cli/gpu-check.js"
if [[ ! -f "$entry" ]]; then
  printf '{"schemaVersion":1,"status":"failed","problems":["not built: run npm ci && npm run build in %s"]}\n' "$root"
  exit 2
fi
exec node "$entry" "$@"
