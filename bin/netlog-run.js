#!/usr/bin/env node
// Entry point of netlog-run; the code is in src/cli/main.ts (compiled to dist/).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`netlog-run: internal error: ${err && err.stack ? err.stack : err}\n`);
  process.exit(125);
});
