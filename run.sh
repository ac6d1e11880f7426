#!/usr/bin/env bash
# Quick start, part one: installs what the main job needs and runs it on embedded defaults.
# The main job is the embedded farm (role "all": one process, files under ./farm-data, no external
# services) with ResNet-18 registered and a default job that renders the feature visualization of
# every unit, layer by layer, early layers first. Stop it with Ctrl-C (leases are handed back);
# run it again and the job resumes where it stopped, rendering nothing twice.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "run.sh needs the .NET 10 SDK (dotnet) on PATH." >&2; exit 1; }
command -v npm >/dev/null || { echo "run.sh needs Node.js 20 and npm on PATH (the PP-OCR organisms come from npm)." >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# DejaVu Sans (Debian's fonts-dejavu-core) for the labels of tuning-curve plots: SkiaSharp's
# NoDependencies build has no fonts of its own.
if [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf && -z "${MICROSCOPE_PLOT_FONT:-}" ]]; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq fonts-dejavu-core >/dev/null
fi
url="${MICROSCOPE_URL:-http://127.0.0.1:8080}"
cat <<MSG
Starting the embedded Microscope farm on $url (data in ./farm-data).
  the web UI:          $url/
  jobs and progress:   $url/api/jobs
  models and layers:   $url/api/models/resnet18
  a unit's lenses:     $url/api/models/resnet18/layers/conv1/units/0
  its image:           $url/api/models/resnet18/layers/conv1/units/0/lenses/featurevis
  health, metrics:     $url/healthz  $url/metrics
MSG
exec ./farm --Farm:Http:Url="$url" --Farm:Store:Path="$PWD/farm-data" "$@"
