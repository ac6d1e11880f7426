#!/usr/bin/env bash
# Quick start, part one: installs what the main job needs and runs it on embedded defaults.
# Today the main job is the layer catalog of the ResNet-18 model organism and a first contact sheet
# of feature visualizations of eight of its units; the farm issue turns it into the embedded farm
# with its web UI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "run.sh needs the .NET 10 SDK (dotnet) on PATH." >&2; exit 1; }
command -v npm >/dev/null || { echo "run.sh needs Node.js 20 and npm on PATH (the PP-OCR organisms come from npm)." >&2; exit 1; }
./microscope models list
./microscope models inspect resnet18
./microscope render resnet18 --layer layer3.1.relu --units 0-7 --steps "${MICROSCOPE_STEPS:-96}" --out out
echo "Open out/resnet18/layer3.1.relu/featurevis-sheet.png to see the first renders."
