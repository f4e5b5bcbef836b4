// What the agent takes from `tar`, from the package's own subpath modules. The package's main
// entry is one pre-bundled file holding create/extract/pack/unpack too (with their fs, assert and
// string_decoder use): evaluating it cost ~30 ms CPU at every `outpost status`. The agent only
// parses bundles and checks headers. Any other name imported from "tar" fails the build here.
export { Header } from 'tar/header';
export { Parser } from 'tar/parse';
export type { ReadEntry } from 'tar/read-entry';
