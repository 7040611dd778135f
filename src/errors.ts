// Error classes of netlog. Every error a user can see carries a stable `code` and a
// message written for the person at the terminal (the CLI prefixes "netlog-run: ").

export class NetlogError extends Error {
  /** Stable machine-readable code, e.g. 'ECONFIG', 'EWHITELIST', 'EVALUE'. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetlogError';
    this.code = code;
  }
}

/** Where a bad setting came from: a config file and line, or a command-line option. */
export interface ConfigErrorOrigin {
  file?: string;
  line?: number;
  /** Used when there is no file, e.g. "--whitelist". */
  origin?: string;
  key?: string;
}

/**
 * A bad configuration file line or option value. The message reads
 * "FILE:LINE: REASON" (or "--option: REASON"); `reason` alone omits the location.
 */
export class ConfigError extends NetlogError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;
  readonly reason: string;

  constructor(reason: string, where: ConfigErrorOrigin, options?: { cause?: unknown }) {
    super('ECONFIG', `${locate(where)}${reason}`, options);
    this.name = 'ConfigError';
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
    this.reason = reason;
  }
}

function locate(where: ConfigErrorOrigin): string {
  if (where.file !== undefined) return where.line !== undefined ? `${where.file}:${where.line}: ` : `${where.file}: `;
  if (where.origin !== undefined) return `${where.origin}: `;
  return '';
}
