// Shared start of the bin/ commands: loads the compiled entry point from dist/
// and turns a missing build into one line saying what to do, not a stack trace.
import { createRequire } from 'node:module';

export async function launch(name, entry) {
  let main;
  try {
    // A CommonJS bundle (netlog-run's, see scripts/build-ts.sh) by require():
    // import() would first scan all of it for its export names.
    ({ main } = entry.endsWith('.cjs') ? createRequire(import.meta.url)(entry) : await import(entry));
  } catch (err) {
    const what = String(err && err.message);
    const missing = err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND');
    if (missing && what.includes('netlog_native.node')) {
      fail(name, 'the native addon (build/Release/netlog_native.node) is not built: run `npm ci` or `npm run build` in the checkout, or reinstall the package');
    } else if (missing && what.includes('/dist/')) {
      fail(name, 'the TypeScript build (dist/) is missing: run `npm ci` or `npm run build` in the checkout, or reinstall the package');
    } else {
      fail(name, `cannot start: ${what}`);
    }
  }
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    fail(name, `internal error: ${err && err.stack ? err.stack : err}`);
  }
}

function fail(name, text) {
  process.stderr.write(`${name}: ${text}\n`);
  process.exit(125);
}
