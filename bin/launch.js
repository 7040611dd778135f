// Shared start of the bin/ commands: loads the compiled entry point from dist/
// and turns a missing build into one line saying what to do, not a stack trace.
export async function launch(name, entry) {
  let main;
  try {
    ({ main } = await import(entry));
  } catch (err) {
    const what = String(err && err.message);
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && what.includes('/dist/')) {
      fail(name, 'the TypeScript build (dist/) is missing: run `npm ci` or `npm run build` in the checkout, or reinstall the package');
    } else if (err && err.code === 'MODULE_NOT_FOUND' && what.includes('netlog_native.node')) {
      fail(name, 'the native addon (build/Release/netlog_native.node) is not built: run `npm ci` or `npm run build` in the checkout, or reinstall the package');
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
