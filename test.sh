#!/usr/bin/env bash
# Quick start, part two: installs what the tests need and runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "test.sh needs the .NET 10 SDK (dotnet) on PATH." >&2; exit 1; }
command -v npm >/dev/null || { echo "test.sh needs Node.js 20 and npm on PATH." >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore Microscope.Farm.sln --nologo -v quiet
dotnet build Microscope.Farm.sln -c Release --no-restore --nologo -v quiet -clp:ErrorsOnly
dotnet test Microscope.Farm.sln -c Release --no-build --nologo -v quiet \
  --logger "console;verbosity=minimal" "$@"
