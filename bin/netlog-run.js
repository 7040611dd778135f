#!/usr/bin/env node
// Entry point of netlog-run; the code is in src/cli/main.ts, compiled to dist/
// and bundled into one file for a faster start (scripts/build-ts.sh).
import { launch } from './launch.js';

await launch('netlog-run', '../dist/netlog-run.cjs');
