#!/bin/sh
# Builds the ingest agent's native file primitives (binding.gyp -> build/Release/guard_fs.node) with
# node-gyp, against the headers of the node that runs it (no download). Never fails the install:
# without the addon the agent uses its pure-JS file path (`mapper-agent doctor` says which).
prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [ -f "$prefix/include/node/node_api.h" ]; then set -- --nodedir="$prefix"; fi
if node-gyp rebuild "$@" >/dev/null 2>build-native.err; then
  rm -f build-native.err
else
  echo "campaign-guard: native file primitives not built (see build-native.err); the agent uses its pure-JS file path" >&2
fi
exit 0
