#!/usr/bin/env bash
# Sets up Attune (first run) and starts the server with the bundled default Whisper model.
# Any arguments go to `attune serve`, e.g.: bash scripts/serve.sh --host 0.0.0.0 --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/attune serve "$@"
