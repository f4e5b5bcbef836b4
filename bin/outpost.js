#!/usr/bin/env node
// Checkout entry point (`npx outpost …`). The shipped binary bundles agent/main.ts instead.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`E_NODE_VERSION: outpost needs Node 24, this is ${process.versions.node}; run it with npx in the checkout\n`);
  process.exit(1);
}
// `outpost … | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import('../agent/main.ts');
process.exitCode = await main(process.argv.slice(2));
