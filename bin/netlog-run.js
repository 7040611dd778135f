#!/usr/bin/env node
// Entry point of netlog-run; the code is in src/cli/main.ts (compiled to dist/).
import { launch } from './launch.js';

await launch('netlog-run', '../dist/cli/main.js');
