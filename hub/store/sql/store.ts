// The HubStore on top of any Db (SQLite or PostgreSQL): one class, the logic in the modules next
// to it, so both databases run the very same statements and the same test suite.
import type { Command, Report, AckResult } from '../../../shared/protocol/index.ts';
import type { Db } from './db.ts';
import { migrate } from './schema.ts';
import * as nodes from './nodes.ts';
import * as reports from './reports.ts';
import * as commands from './commands.ts';
import * as rollouts from './rollouts.ts';
import * as tokens from './tokens.ts';
import { pruneHistory } from './prune.ts';
import { DEFAULT_LIMITS, type StoreLimits } from '../limits.ts';
import { GroupCommit } from './group-commit.ts';
import type { AppendResult } from '../types.ts';
import { BUS_COMMAND, type AdmitInput, type Bus, type CountBy, type HubStore, type JsonValue, type MemberInput, type NewRollout, type NodePatch, type RolloutPatch } from '../types.ts';
import type { BundleRow, MemberStatus, NodeFilter, Page, RolloutRow } from '../records.ts';

export interface BusImpl extends Bus {
  close(): Promise<void>;
}

/**
 * Report batches of different nodes committed in one transaction at most (1: one each). Not
 * more: every batch of a group waits for the whole group's statements, so on a busy machine
 * (a few ms of work per report) groups of hundreds made a burst's median ack slower than one
 * commit per report (bench-store, alternating rounds); 32 keeps the fsyncs few and the wait short.
 */
export const DEFAULT_REPORT_GROUP = 32;

export class SqlStore implements HubStore {
  readonly dialect: 'sqlite' | 'postgres';
  readonly limits: StoreLimits;
  #db: Db;
  #bus: BusImpl;
  /** Reports of many nodes share one commit (group-commit.ts). */
  readonly reportCommits: GroupCommit<AppendResult>;

  private constructor(db: Db, bus: BusImpl, limits: StoreLimits, group: number) {
    this.#db = db;
    this.#bus = bus;
    this.limits = limits;
    this.dialect = db.dialect.name;
    // PostgreSQL: as many groups at once as the pool has connections to spare (its pool is 10).
    this.reportCommits = new GroupCommit(db, group, db.dialect.name === 'postgres' ? 4 : 1);
  }

  static async open(db: Db, bus: BusImpl, limits: Partial<StoreLimits> = {}, o: { group?: number } = {}): Promise<SqlStore> {
    await migrate(db, Date.now());
    // PostgreSQL shares WAL flushes between concurrent commits itself, and the pool runs ten
    // transactions at once; grouping in the hub serialised a burst's statements instead and was
    // slower in bench-fleet (two hubs, 1,000 nodes: p50 0.9 s grouped vs 0.06 s not). So there
    // the default is one transaction per batch; `group=N` still turns it on.
    const group = o.group ?? (db.dialect.name === 'postgres' ? 1 : DEFAULT_REPORT_GROUP);
    return new SqlStore(db, bus, { ...DEFAULT_LIMITS, ...limits }, group);
  }

  async close(): Promise<void> {
    await this.#bus.close();
    await this.#db.close();
  }

  admitNode = (i: AdmitInput) => nodes.admitNode(this.#db, this.limits, i);
  getNode = (id: string) => this.#db.read((tx) => nodes.readNode(tx, id));
  findNodes = (ref: string) => nodes.findNodes(this.#db, ref);
  listNodes = (f?: NodeFilter, p?: Page) => nodes.listNodes(this.#db, f, p);
  countNodes = (f: NodeFilter, by: CountBy) => nodes.countNodes(this.#db, f, by);
  updateNode = (id: string, p: NodePatch) => nodes.updateNode(this.#db, id, p);
  deleteNode = (id: string) => nodes.deleteNode(this.#db, id);
  setConnected = (id: string, hubId: string, now: number) => nodes.setConnected(this.#db, id, hubId, now);
  setDisconnected = (id: string, hubId: string, now: number) => nodes.setDisconnected(this.#db, id, hubId, now);
  releaseConnections = (hubId: string) => nodes.releaseConnections(this.#db, hubId);
  hubAlive = (hubId: string, info: { url?: string }, now: number) => nodes.hubAlive(this.#db, hubId, info.url, now);
  reapHubs = (staleBefore: number) => nodes.reapHubs(this.#db, staleBefore);
  listHubs = () => nodes.listHubs(this.#db);
  preauthorize = (ids: string[], now: number) => nodes.preauthorize(this.#db, ids, now);
  unpreauthorize = (id: string) => nodes.unpreauthorize(this.#db, id);
  listPreauthorized = () => nodes.listPreauthorized(this.#db);
  countUnseenPreauthorized = () => nodes.countUnseenPreauthorized(this.#db);

  appendReports = (nodeId: string, r: readonly Report[], now: number) =>
    this.reportCommits.run(nodeId, (tx) => reports.applyReports(tx, this.#db.dialect, this.limits, nodeId, r, now));
  getInventory = (nodeId: string) => reports.getInventory(this.#db, nodeId);
  getInventoryHash = (nodeId: string) => reports.getInventoryHash(this.#db, nodeId);
  locationHistory = (nodeId: string, o?: { limit?: number; since?: number }) => reports.locationHistory(this.#db, nodeId, o);
  reportLog = (nodeId: string, o?: { limit?: number }) => reports.reportLog(this.#db, nodeId, o);
  pruneHistory = (now: number) => pruneHistory(this.#db, this.limits, now);

  enqueueCommand = async (nodeId: string, c: Command, o: { rolloutId?: string; bundleId?: string; now: number }) => {
    const row = await commands.enqueueCommand(this.#db, this.limits, nodeId, c, o);
    // After commit: the process holding the socket reads a row that is already there.
    if (row) await this.#bus.notify(BUS_COMMAND, { nodeId, id: row.id });
    return row;
  };
  outstandingCommands = (nodeId: string) => commands.outstandingCommands(this.#db, nodeId);
  getCommand = (nodeId: string, id: string) => commands.getCommand(this.#db, nodeId, id);
  ackCommand = (nodeId: string, ref: string, ack: { result: AckResult; code?: string; message?: string }, now: number) =>
    commands.ackCommand(this.#db, this.limits, nodeId, ref, ack, now);
  cancelPending = (scope: { rolloutId?: string; nodeId?: string; deploymentId?: string }, now: number) => commands.cancelPending(this.#db, scope, now);
  listCommands = (scope: Parameters<HubStore['listCommands']>[0], page?: { limit?: number }) => commands.listCommands(this.#db, scope, page);
  getDeployment = (nodeId: string, deploymentId: string) => commands.getDeployment(this.#db, nodeId, deploymentId);
  listDeployments = (scope: { nodeId?: string; rolloutId?: string; unfinished?: boolean }, page?: Page) =>
    commands.listDeployments(this.#db, scope, page);

  createRollout = (r: NewRollout, m: MemberInput[], now: number) => rollouts.createRollout(this.#db, r, m, now);
  getRollout = (id: string) => rollouts.getRollout(this.#db, id);
  listRollouts = (f?: { status?: RolloutRow['status'] }, p?: { limit?: number }) => rollouts.listRollouts(this.#db, f, p);
  updateRollout = (id: string, v: number, p: RolloutPatch, now: number) => rollouts.updateRollout(this.#db, id, v, p, now);
  addRolloutMembers = (id: string, m: MemberInput[], now: number) => rollouts.addRolloutMembers(this.#db, id, m, now);
  listRolloutMembers = (id: string, f?: { wave?: number; status?: MemberStatus }, p?: Page) => rollouts.listRolloutMembers(this.#db, id, f, p);
  rolloutProgress = (id: string) => rollouts.rolloutProgress(this.#db, id);

  putBundle = (b: BundleRow) => tokens.putBundle(this.#db, b);
  getBundle = (id: string) => tokens.getBundle(this.#db, id);
  listBundles = () => tokens.listBundles(this.#db);
  deleteBundle = (id: string) => tokens.deleteBundle(this.#db, id);

  createToken = (name: string, now: number) => tokens.createToken(this.#db, name, now);
  verifyToken = (token: string, now: number) => tokens.verifyToken(this.#db, token, now);
  listTokens = () => tokens.listTokens(this.#db);
  revokeToken = (id: string, now: number) => tokens.revokeToken(this.#db, id, now);
  secret = (name: string) => tokens.secret(this.#db, name);

  notify = (channel: string, payload: JsonValue) => this.#bus.notify(channel, payload);
  subscribe = (channel: string, handler: (payload: JsonValue) => void) => this.#bus.subscribe(channel, handler);
}
