// `netlog SUBCOMMAND ...`: the table of subcommands; each lives in its own
// folder and is loaded only when called.
import fs from 'node:fs';

const SUBCOMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<void> }> = {
  daemon: {
    summary: 'netlogd, the root supervisor of login sessions',
    run: async (argv) => (await import('../daemon/main.js')).daemonMain(argv),
  },
  install: {
    summary: '(root) install netlog-shell, the daemon unit and its config',
    run: async (argv) => (await import('../install/main.js')).installMain(argv),
  },
};

export const NETLOG_USAGE = `Usage: netlog SUBCOMMAND [ARGS...]

${Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(10)}${s.summary}`).join('\n')}

'netlog SUBCOMMAND --help' for each; netlog-run runs one command supervised.`;

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    fs.writeSync(name === undefined ? 2 : 1, NETLOG_USAGE + '\n');
    process.exit(name === undefined ? 2 : 0);
  }
  const sub = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    fs.writeSync(2, `netlog: unknown subcommand '${name}' (try 'netlog --help')\n`);
    process.exit(2);
  }
  await sub.run(rest);
}
