# The native file primitives of the ingest agent (mapper-agent/ingest/native/): plain N-API C, built
# by `npm ci`/`npm install` (the "install" script). If it cannot be built, the pure-JS path is used.
{
  "targets": [
    {
      "target_name": "guard_fs",
      "sources": ["mapper-agent/ingest/native/guard-fs.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
