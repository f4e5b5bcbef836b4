// Fails loudly when an npm script is about to run on anything but the pinned Node 24.
// npm runs scripts with node_modules/.bin first on PATH; if the pinned runtime did not
// install (e.g. `npm ci --ignore-scripts`), `node` silently falls back to the system one.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  process.stderr.write(
    `E_NODE_VERSION: Outpost needs the pinned Node 24 (got ${process.versions.node} at ${process.execPath}).\n` +
      'Run `npm ci` with install scripts allowed so node_modules/.bin/node is the pinned runtime.\n',
  );
  process.exit(1);
}
