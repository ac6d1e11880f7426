#!/usr/bin/env bash
# Quick start, part one: installs what the main job needs and runs it on embedded defaults.
# Today the main job is the layer catalog of the ResNet-18 model organism; later it becomes a
# first render and then the embedded farm with its web UI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "run.sh needs the .NET 10 SDK (dotnet) on PATH." >&2; exit 1; }
command -v npm >/dev/null || { echo "run.sh needs Node.js 20 and npm on PATH (the PP-OCR organisms come from npm)." >&2; exit 1; }
./microscope models list
./microscope models inspect resnet18
