// The set-up the update tests share: one signed bundle kit per test file, test nodes made on it,
// and all of them removed after the file's tests.
import { after, before } from 'node:test';
import { TestNode, type NodeOptions } from './test-node.ts';
import { makeKit, type KitOptions } from './bundle-kit.ts';

type Kit = Awaited<ReturnType<typeof makeKit>>;

export interface UpdateNodes {
  /** The kit; it is made in before(), so read it inside tests. */
  readonly kit: Kit;
  /** A fresh node on the kit: the file's defaults, then `opts`. */
  node(opts?: Partial<Omit<NodeOptions, 'kit'>>): Promise<TestNode>;
}

/** Call at the top of a test file: registers the before() and after() hooks. */
export function updateNodes(kitOptions: KitOptions, defaults: Omit<NodeOptions, 'kit'>): UpdateNodes {
  let kit: Kit | null = null;
  const nodes: TestNode[] = [];
  before(async () => {
    kit = await makeKit(kitOptions);
  });
  after(async () => {
    for (const n of nodes) await n.dispose();
    await kit?.dispose();
  });
  const self: UpdateNodes = {
    get kit() {
      if (!kit) throw new Error('the kit is made in before(): read it inside a test');
      return kit;
    },
    async node(opts = {}) {
      const n = await TestNode.create({ kit: self.kit, ...defaults, ...opts });
      nodes.push(n);
      return n;
    },
  };
  return self;
}
