#!/usr/bin/env node
// Entry point of `netlog SUBCOMMAND`; the code is in src/cli/netlog.ts (compiled to dist/).
import { main } from '../dist/cli/netlog.js';

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`netlog: internal error: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
