// The end-to-end demo (`npm start`). Grows with the agent; see README "What npm start does today".
process.stdout.write('Outpost demo: not assembled yet. Run `npm test` for what works today.\n');
