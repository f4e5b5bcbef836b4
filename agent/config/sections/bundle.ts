// Keys of the bundle section: what this node trusts and accepts (agent/bundle/, docs/bundles.md).
import { defineSection, field } from '../schema.ts';

export const bundle = defineSection('bundle', 'Trust store, anti-rollback floor and compatible hardware.', {
  trustStore: field.string(
    'Trust store: a directory with root.json (+ rotation-N.json files), a directory of *.pub keys (threshold 1), or one trust document file.',
    '/etc/outpost/trust',
  ),
  floorFile: field.string(
    'Anti-rollback floor: one decimal release number; bundles below it are refused. It only rises (after a commit). Missing means 0.',
    '/var/lib/outpost/release-floor',
  ),
  compatible: field.stringArray(
    'This node\'s compatible strings; a bundle must name at least one. Empty accepts any bundle (development only).',
    [],
  ),
});
