// The syslog sink: RFC 5424 messages over a unix datagram socket (/dev/log by
// default), app-name "netlog". A syslog that is down at start stops
// netlog-run before COMMAND runs; one that goes down later is a sink failure.
import os from 'node:os';
import { addon } from '../native.js';
import { runProcess } from '../run-process.js';
import { NetlogError } from '../errors.js';
import type { Sink } from './sinks.js';

const SEVERITY_INFO = 6;

export function syslogMessage(facility: number, message: string, now = new Date(), host = os.hostname(), pid = process.pid): string {
  return `<${facility * 8 + SEVERITY_INFO}>1 ${now.toISOString()} ${host || '-'} netlog ${pid} - - ${message}`;
}

export class SyslogSink implements Sink {
  readonly name: string;
  constructor(
    private readonly socketPath: string,
    private readonly facility: number,
  ) {
    this.name = `syslog ${socketPath}`;
    const probe = runProcess.connectDatagram(socketPath);
    if (probe !== 'ok') {
      const why = probe === 'ECONNREFUSED' ? 'no syslog daemon is listening there' : probe === 'ENOENT' ? 'no such socket' : probe === 'EACCES' ? 'permission denied' : probe;
      throw new NetlogError('EOUTPUT', `cannot send to syslog at ${socketPath}: ${why} (${probe})`);
    }
  }

  /** Each line of the batch is one syslog message. */
  write(text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const result = addon.sendDatagram(this.socketPath, Buffer.from(syslogMessage(this.facility, line)));
      if (result !== 'ok') throw new NetlogError('ESINK', `cannot send to syslog at ${this.socketPath}: ${result}`);
    }
  }

  close(): void {}
}
