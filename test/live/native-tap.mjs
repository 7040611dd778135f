// Loaded with `node --import` before netlog-run (test/live/record-schema.test.ts):
// appends every batch the addon hands to JS (one JSON text, native/record_json.cc)
// to $NETLOG_NATIVE_TAP, one line per batch, before netlog-run reads it. The
// addon is otherwise untouched; nothing in src/ knows of this.
import fs from 'node:fs';
import Module from 'node:module';

const file = process.env.NETLOG_NATIVE_TAP;
const load = Module._load;
Module._load = function tapLoad(request, ...rest) {
  const m = load.call(this, request, ...rest);
  if (file && request.endsWith('netlog_native.node') && !m.__netlogTap) {
    const spawn = m.spawn;
    m.spawn = function tappedSpawn(options, onMessages) {
      return spawn.call(this, options, (batch) => {
        fs.appendFileSync(file, batch + '\n');
        onMessages(batch);
      });
    };
    m.__netlogTap = true;
  }
  return m;
};
