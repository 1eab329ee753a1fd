#!/usr/bin/env bash
# The whole test run: set-up (idempotent), type-check, then every test against real slapd,
# real TLS, a real OpenID Provider and headless Chromium. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
NODE_ENV=test npm test --silent
