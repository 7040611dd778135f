#!/usr/bin/env bash
# Compiles src/ to dist/ (after src/record/schema-types.ts from
# docs/record-schema.json) and writes the man pages from src/cli/help.ts. With
# --if-stale (npm's prepare, pretest) does nothing when dist/ is newer than its
# sources: `npx netlog-run` runs prepare, and a user who cannot write the
# checkout must still be able to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
stamp=dist/.built
if [ "${1:-}" = --if-stale ] && [ -e $stamp ] && [ -z "$(find src tsconfig.json package.json docs/record-schema.json scripts/gen-record-types.js -newer $stamp -print -quit)" ]; then
  exit 0
fi
if [ ! -w . ] || { [ -e dist ] && [ ! -w dist ]; }; then
  echo "netlog: dist/ is out of date and $(id -un) cannot write it: its owner can rebuild it with npm run build" >&2
  exit 0
fi
# The record types come from the record schema (a no-op when they are current).
node scripts/gen-record-types.js
tsc -p tsconfig.json
# netlog-run's start path as one CommonJS file, loaded with require() by
# bin/launch.js: Node's ESM loader costs about a millisecond per module (resolve,
# async read, link) and loads every export of a builtin (node:crypto's webcrypto,
# streams), and an import() of CommonJS runs the cjs-module-lexer over the whole
# file. esbuild keeps the dynamic imports lazy (their modules and builtins are
# initialised on first use). import.meta.url is the bundle's own URL, so the paths
# found from it (build/Release, package.json) are the same as from dist/cli/.
esbuild dist/cli/main.js --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
  --outfile=dist/netlog-run.cjs --define:import.meta.url=import_meta_url \
  "--banner:js=const import_meta_url = require('node:url').pathToFileURL(__filename).href;"
node scripts/build-man.js
touch $stamp
