#!/usr/bin/env bash
# The main job for a newcomer: set-up (idempotent), then the portal on the embedded default:
# a managed slapd under var/, a demo CA, a demo user certificate (PKCS#12) and campaigns.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx demo/demo.ts "$@"
