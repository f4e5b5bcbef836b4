// The BundleVerifier the update machine and the fetchers use: the reader bound to this node's policy.
import { readBlocks, readBundle, readHead, verifyHeadBytes } from './reader.ts';
import type { BundleVerifier, VerifyPolicy } from './types.ts';

export function createVerifier(policy: VerifyPolicy): BundleVerifier {
  return {
    readBundle: (source, sink, signal) => readBundle(source, policy, sink, signal),
    readHead: (source, signal) => readHead(source, policy, signal),
    verifyHeadBytes: (headBytes) => verifyHeadBytes(headBytes, policy),
    readBlocks: (source, head, payload, fromBlock, sink, signal) => readBlocks(source, head, payload, fromBlock, sink, signal),
  };
}
