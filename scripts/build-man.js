// Writes man/netlog-run.1 and man/netlog.1 from dist/cli/help.js (compile the
// TypeScript first); test/unit/man.test.ts checks that they match the source.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netlogManPage, runManPage } from '../dist/cli/help.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
fs.mkdirSync(path.join(root, 'man'), { recursive: true });
fs.writeFileSync(path.join(root, 'man', 'netlog-run.1'), runManPage(version));
fs.writeFileSync(path.join(root, 'man', 'netlog.1'), netlogManPage(version));
