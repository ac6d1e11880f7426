#!/usr/bin/env bash
# Quick start, part two: installs what the tests need and runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "test.sh needs the .NET 10 SDK (dotnet) on PATH." >&2; exit 1; }
command -v npm >/dev/null || { echo "test.sh needs Node.js 20 and npm on PATH (the PP-OCR organisms come from npm)." >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Azurite (the Azure Storage emulator, pinned in tools/azurite) for the blob store, clustering and
# fault tests: each test fixture starts its own on free ports of 127.0.0.1, so tests can stop and
# restart it to play outages.
if [[ ! -x tools/azurite/node_modules/.bin/azurite ]]; then
  (cd tools/azurite && npm ci --no-audit --no-fund --loglevel=error)
fi

# Debian's Chromium for the browser tests (Category=Browser), driven by Playwright; never `playwright install`.
if [[ ! -x /usr/bin/chromium ]]; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
fi
# DejaVu Sans (Debian's fonts-dejavu-core) for the labels of tuning-curve plots: SkiaSharp's
# NoDependencies build has no fonts of its own.
if [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf && -z "${MICROSCOPE_PLOT_FONT:-}" ]]; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq fonts-dejavu-core >/dev/null
fi
dotnet restore Microscope.Farm.sln --nologo -v quiet
dotnet build Microscope.Farm.sln -c Release --no-restore --nologo -v quiet -clp:ErrorsOnly

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Microscope.Farm.sln -c Release --no-build --nologo -v quiet \
  --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log" || status=$?

# One closing line for the whole suite, summed over the test projects.
awk '/^(Passed|Failed)!/ {
       for (i = 1; i <= NF; i++) {
         if ($i == "Passed:") passed += $(i + 1)
         if ($i == "Failed:") failed += $(i + 1)
         if ($i == "Skipped:") skipped += $(i + 1)
       }
     }
     END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }' \
  FS='[ ,]+' "$log"
exit "$status"
