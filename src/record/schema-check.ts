// Compile-time checks that the record types spelled by hand agree with
// docs/record-schema.json (through its generated types, schema-types.ts):
// the build (tsc) fails when they drift, and so does
// test/unit/record-schema.test.ts. Nothing here exists at run time.
//
// The parts (proc, net, exec, the run infos, the login infos) are the
// schema's own types (types.ts, daemon/records.ts). What is checked here is
// what is built field by field elsewhere: EventRecord and RunRecord (the
// supervisor and the CLI fill them), netlogd's LoginRecord, and the addon's
// NativeEvent (src/native.ts, decoded from native/record_json.cc).
import type { NativeEvent, NativeMessage } from '../native.js';
import type { LoginRecord } from '../daemon/records.js';
import type * as J from './schema-types.js';
import type { EventRecord, RunRecord } from './types.js';

/** Every key of every member of a union. */
type Keys<T> = T extends unknown ? keyof T : never;
type SameKeys<A, B> = [Keys<A>] extends [Keys<B>] ? ([Keys<B>] extends [Keys<A>] ? true : false) : false;

/**
 * The hand-written type TS agrees with the schema's Json: the same field
 * names (no field the schema does not have, none missing), and every record
 * the schema allows is a TS value (so a field TS requires is required by the
 * schema, and no value of the schema is outside TS's type). TS may be wider
 * (`via: string` where the schema lists the calls; `session?` that the writer
 * fills in): the records are built from it, the schema says what comes out.
 */
export type Agrees<TS, Json> = SameKeys<TS, Json> extends true ? ([Json] extends [TS] ? true : false) : false;

/** Fails to compile unless T is true. */
export type Assert<T extends true> = T;

/** Fields a record carries in memory and never writes. */
type Written<T, Internal extends keyof T> = Omit<T, Internal>;
type NonNull<T> = Exclude<T, undefined>;

export type Checks = [
  Assert<Agrees<Written<EventRecord, 'boot'>, J.EventRecordJson>>,
  Assert<Agrees<Written<RunRecord, 'boot'>, J.RunRecordJson>>,
  Assert<Agrees<LoginRecord, J.LoginRecordJson>>,
  // The addon's side: the message, its event and the event's parts.
  Assert<Agrees<NativeMessage, J.NativeMessageJson>>,
  Assert<Agrees<NativeEvent, J.NativeEventJson>>,
  Assert<Agrees<NativeEvent['proc'], J.NativeProcJson>>,
  Assert<Agrees<NonNull<NativeEvent['exec']>, J.NativeExecJson>>,
  Assert<Agrees<NonNull<NativeEvent['net']>, J.NativeNetJson>>,
  Assert<Agrees<NonNull<NonNull<NativeEvent['net']>['remote']>, J.EndpointJson>>,
];
