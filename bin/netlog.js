#!/usr/bin/env node
// Entry point of netlog (report, daemon, install); the code is in src/cli/netlog.ts (compiled to dist/).
import { launch } from './launch.js';

await launch('netlog', '../dist/cli/netlog.js');
