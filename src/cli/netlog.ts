// `netlog SUBCOMMAND ...`: a table of subcommands, each loaded only when used.
const SUBCOMMANDS: Record<string, { about: string; run: (argv: string[]) => Promise<number> }> = {
  report: {
    about: 'summarize JSON logs: programs, destinations, blocked calls, losses',
    run: async (argv) => (await import('../report/main.js')).reportMain(argv),
  },
};

const USAGE = `usage: netlog SUBCOMMAND [OPTIONS]

${Object.entries(SUBCOMMANDS)
  .map(([name, s]) => `  ${name.padEnd(10)} ${s.about}`)
  .join('\n')}

netlog SUBCOMMAND --help shows a subcommand's options.`;

export async function netlogMain(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    process.stdout.write(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  const sub = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    process.stderr.write(`netlog: unknown subcommand '${name}' (expected ${Object.keys(SUBCOMMANDS).join(', ')})\n`);
    return 2;
  }
  return sub.run(rest);
}
