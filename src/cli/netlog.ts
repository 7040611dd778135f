// netlog SUBCOMMAND: a table from subcommand to the module that runs it
// (docs/cli.md). Each subcommand is loaded only when called.
import fs from 'node:fs';
import { NETLOG_USAGE } from './help.js';
import { packageVersion } from '../version.js';

const EXIT_FAILURE = 125;

type Run = (argv: string[]) => Promise<void>;

/** A subcommand whose code is not part of this build. */
const NOT_BUILT = undefined;

// One line per subcommand: its loader, or NOT_BUILT.
export const SUBCOMMANDS: Readonly<Record<string, (() => Promise<Run>) | undefined>> = {
  report: async () => {
    const { reportMain } = await import('../report/main.js');
    return async (argv) => process.exit(await reportMain(argv));
  },
  daemon: async () => (await import('../daemon/main.js')).daemonMain,
  install: async () => (await import('../install/main.js')).installMain,
};

function say(text: string): void {
  try {
    fs.writeSync(2, `netlog: ${text}\n`);
  } catch {
    // stderr is gone
  }
}

export async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help') {
    fs.writeSync(1, NETLOG_USAGE + '\n');
    process.exit(0);
  }
  if (first === '--version') {
    fs.writeSync(1, `netlog ${packageVersion()}\n`);
    process.exit(0);
  }
  if (first === undefined) {
    say('missing SUBCOMMAND');
    say("try 'netlog --help'");
    process.exit(EXIT_FAILURE);
  }
  if (!Object.hasOwn(SUBCOMMANDS, first)) {
    say(first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}' (expected one of ${Object.keys(SUBCOMMANDS).join(', ')})`);
    say("try 'netlog --help'");
    process.exit(EXIT_FAILURE);
  }
  const load = SUBCOMMANDS[first];
  if (load === undefined) {
    say(`${first}: not available in this build`);
    process.exit(EXIT_FAILURE);
  }
  await (await load())(rest);
}
