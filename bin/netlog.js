#!/usr/bin/env node
// Entry point of netlog (subcommands: report); the code is in src/cli/netlog.ts (compiled to dist/).
import { netlogMain } from '../dist/cli/netlog.js';

netlogMain(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`netlog: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exit(70);
  },
);
