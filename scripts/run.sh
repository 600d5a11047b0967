#!/usr/bin/env bash
# One command: install what is missing, build, and start Twarga Cloud on http://127.0.0.1:8080.
# Settings come from TWARGA_* environment variables (see README). Data lives in ./data by default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm start
