#!/usr/bin/env node
// Checkout entry point (`npx outpost-hub …`). The shipped binary bundles hub/main.ts instead.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`E_NODE_VERSION: outpost-hub needs Node 24, this is ${process.versions.node}; run it with npx in the checkout\n`);
  process.exit(1);
}
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import('../hub/main.ts');
const code = await main(process.argv.slice(2));
// `serve` keeps running (its sockets hold the loop); every other command ends here.
if (code !== undefined) process.exitCode = code;
