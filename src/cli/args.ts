// netlog-run's command line (docs/cli.md), parsed as getopt_long(3) with a
// leading '+' does for strace and sudo: options first, bundled (-qo FILE) or
// attached (-oFILE, --output=FILE); the first word that is not an option, or
// the word after `--`, starts COMMAND. Values are checked with the config
// file's own rules (config/parse.ts). The option table is in cli/help.ts.
//
// Not node's util.parseArgs: it cannot stop at the first positional, so
// finding where COMMAND starts would need a second parser that knows which
// options take a value; one small parser over the one table is less code.
import { parseCliValue } from '../config/parse.js';
import type { ConfigLayer } from '../config/keys.js';
import { NetlogError } from '../errors.js';
import { RUN_OPTIONS, RUN_USAGE, type OptionSpec } from './help.js';

export const USAGE = RUN_USAGE;


export interface CliArgs {
  configFile?: string;
  /** Settings given as options, in order; they override the config file. */
  layers: ConfigLayer[];
  noExec: boolean;
  quiet: boolean;
  user?: string;
  /** --whitelist-include-root (also given to the config as a layer). */
  whitelistIncludeRoot: boolean;
  ci: boolean;
  help: boolean;
  version: boolean;
  command: string[];
}

/** An error in the command line: the caller prints it with the usage hint, exit 125. */
export class UsageError extends NetlogError {
  constructor(message: string) {
    super('EUSAGE', message);
    this.name = 'UsageError';
  }
}

type Apply = (out: CliArgs, value: string | undefined, label: string) => void;

const layer = (key: string): Apply => (out, value, label) => {
  out.layers.push(parseCliValue(key, value!, label));
};

/** What each option of the table does; a unit test checks that both lists match. */
export const APPLY: Readonly<Record<string, Apply>> = {
  output: layer('output'),
  format: layer('format'),
  config: (out, v) => {
    out.configFile = v!;
  },
  whitelist: layer('whitelist'),
  'exec-whitelist': layer('exec_whitelist'),
  'whitelist-include-root': (out, _v, label) => {
    out.whitelistIncludeRoot = true;
    out.layers.push(parseCliValue('whitelist_include_root', '1', label));
  },
  probes: layer('probes'),
  'no-exec': (out) => {
    out.noExec = true;
  },
  syslog: (out, v, label) => {
    out.layers.push(parseCliValue('syslog', v ?? '1', label));
  },
  user: (out, v) => {
    out.user = v!;
  },
  egress: (out, v, label) => {
    if (v !== 'audit' && v !== 'block') throw new UsageError(`${label}: '${v}' is not an egress policy (expected audit or block)`);
    out.layers.push(parseCliValue('egress', v, label));
  },
  allow: (out, v, label) => {
    if (v === '') throw new UsageError(`${label}: the endpoint is empty`);
    out.layers.push(parseCliValue('allow', v!, label));
  },
  ci: (out) => {
    out.ci = true;
  },
  quiet: (out) => {
    out.quiet = true;
  },
  help: (out) => {
    out.help = true;
  },
  version: (out) => {
    out.version = true;
  },
};

const BY_LONG = new Map(RUN_OPTIONS.map((o) => [o.long, o]));
const BY_SHORT = new Map(RUN_OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]));

export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = {
    layers: [], noExec: false, quiet: false, whitelistIncludeRoot: false, ci: false,
    help: false, version: false, command: [],
  };
  const apply = (spec: OptionSpec, value: string | undefined, label: string): void => {
    APPLY[spec.long]!(out, value, label);
  };
  // The next word as an option's value; `--` is taken as a forgotten value, not as one.
  const nextValue = (i: number, label: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v === '--') throw new UsageError(`option '${label}' needs a value`);
    return v;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const label = eq > 0 ? arg.slice(0, eq) : arg;
      const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
      const spec = BY_LONG.get(label.slice(2));
      if (!spec) throw new UsageError(`unknown option '${label}'`);
      if (spec.value === undefined) {
        if (inline !== undefined) throw new UsageError(`option '${label}' takes no value`);
        apply(spec, undefined, label);
      } else if (inline !== undefined) {
        apply(spec, inline, label);
      } else if (spec.optionalValue) {
        // --syslog PATH: only an absolute path is taken, so `--syslog ls` still runs ls.
        const next = argv[i + 1];
        apply(spec, next?.startsWith('/') ? argv[++i] : undefined, label);
      } else {
        apply(spec, nextValue(i++, label), label);
      }
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      // A bundle of short options: -q -o FILE as -qo FILE or -qoFILE.
      for (let j = 1; j < arg.length; j++) {
        const label = `-${arg[j]}`;
        const spec = BY_SHORT.get(arg[j]!);
        if (!spec) throw new UsageError(`unknown option '${label}'`);
        if (spec.value === undefined) {
          apply(spec, undefined, label);
          continue;
        }
        const rest = arg.slice(j + 1);
        apply(spec, rest !== '' ? rest : nextValue(i++, label), label);
        break;
      }
      continue;
    }
    break; // COMMAND
  }
  out.command = argv.slice(i);
  if (!out.help && !out.version && out.command.length === 0) throw new UsageError('missing COMMAND');
  return out;
}
