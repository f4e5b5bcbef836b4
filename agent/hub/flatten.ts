// Moved: the wire form of an inventory lives with the inventory module (agent/inventory/flat.ts),
// next to its one diff and hash. This re-export only keeps the composition root compiling until
// it imports from there; delete it then.
export { flattenInventory } from '../inventory/flat.ts';
