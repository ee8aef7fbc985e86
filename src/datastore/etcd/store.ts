// The Datastore on etcd v3 (the etcd3 client). Objects are JSON values under the store's prefix
// (keys.ts). Every write is one etcd transaction guarded by the mod revision of PREFIX/rev:
// the store's revision is read first, then the objects the write touches (and, for the
// referential rules, the tiers and policies); the transaction commits only if PREFIX/rev is
// unchanged, so whatever was read still holds at commit and writers on any number of API
// servers or processes are serialized (optimistic, retried). A whole-set apply is one
// transaction. microseg's revision is its own counter in PREFIX/rev, bumped by each change in
// the same transaction, because a set applied together is one etcd revision yet each of its
// objects needs its own resourceVersion (the contract); etcd's revisions order and resume
// watches (watch.ts) and etcd's compaction follows ours.
import { randomUUID } from "node:crypto";
import { Etcd3, type IKeyValue, type IRequestOp } from "etcd3";
import { type Resource, resourceKey } from "../../model/index.ts";
import { listFilter } from "../filters.ts";
import { describeObject, kindId, kindInfo, notFound, resolveRef } from "../kinds.ts";
import { builtinTierObjects, TIERED_KINDS, tierOf } from "../references.ts";
import {
  type ApplyResult,
  type Datastore,
  DatastoreError,
  type ListOptions,
  type ListResult,
  type ObjectRef,
  type Preconditions,
  type StoredResource,
  type Watch,
  type WatchListener,
  type WatchOptions,
  type WriteInput,
} from "../types.ts";
import {
  applyObjects,
  deletedAt,
  deleteObject,
  incomingObject,
  incomingSet,
  planWrite,
  type WriteMode,
  type WriteView,
  writeObject,
} from "../writes.ts";
import { type KeySpace, keySpace, logKey, objectKey, prefixEnd } from "./keys.ts";
import { watchEtcd } from "./watch.ts";

export interface EtcdOptions {
  /** Key prefix of the store; `/microseg` by default. Several stores may share one etcd. */
  readonly prefix?: string;
  /** Revisions kept before compaction (ours and etcd's), as SqliteOptions; 10,000 by default. */
  readonly retainRevisions?: number;
  /** Deadline of each etcd call; 10 s by default. */
  readonly callTimeoutMs?: number;
}

/** Objects per range read of a list or snapshot (pages of one etcd revision). */
const PAGE = 1_000;
/** Keys per read transaction when a write loads the objects it touches. */
const READ_BATCH = 100;
/** A write that keeps losing the race for PREFIX/rev gives up after this long. */
const CONTENTION_MS = 30_000;

const MICROSEG_GROUP = "microseg.io";

function decode(kv: IKeyValue): StoredResource {
  return JSON.parse(kv.value.toString()) as StoredResource;
}

function byNamespaceThenName(a: StoredResource, b: StoredResource): number {
  const na = a.metadata.namespace ?? "";
  const nb = b.metadata.namespace ?? "";
  if (na !== nb) return na < nb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** The resource keys a write of `objects` reads: theirs, and the tiers they name. */
function keysToRead(objects: readonly Resource[]): string[] {
  return [
    ...objects.map(resourceKey),
    ...objects.flatMap((r) => {
      const t = tierOf(r);
      return t === undefined ? [] : [`${MICROSEG_GROUP}/Tier//${t}`];
    }),
  ];
}

function put(key: string, value: string): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(value) } };
}

/** etcd's refusal of a transaction too big for its limits, said in the flags that set them. */
function tooBig(e: unknown, changes: number): DatastoreError | undefined {
  const message = e instanceof Error ? e.message : String(e);
  if (!/too many operations|request is too large|message larger than max/i.test(message)) {
    return undefined;
  }
  return new DatastoreError(
    "Invalid",
    `etcd refused a transaction of ${changes} changes (${message}): start etcd with a larger ` +
      "--max-txn-ops and --max-request-bytes, or apply smaller sets; nothing was applied",
    [
      {
        code: "manifest.field",
        path: "items",
        message: "too many objects for one etcd transaction",
      },
    ],
  );
}

/**
 * One write: the store's revision and mod revision as read, the objects read since, and the
 * changes planned. Reads go through `load` first (etcd is asynchronous); the verbs of
 * writes.ts then run on the loaded view, synchronously.
 */
class EtcdWriteTx implements WriteView {
  readonly #objects = new Map<string, StoredResource | undefined>();
  readonly #policies: StoredResource[] = [];
  readonly ops: IRequestOp[] = [];
  #count = 0;

  constructor(
    readonly store: EtcdDatastore,
    readonly keys: KeySpace,
    /** The store's revision when the transaction began. */
    readonly base: number,
    /** PREFIX/rev's mod revision then: the commit's guard. */
    readonly guard: string,
  ) {}

  get changed(): boolean {
    return this.#count > 0;
  }

  get next(): number {
    return this.base + 1 + this.#count;
  }

  get last(): number {
    return this.base + this.#count;
  }

  /** Takes objects read elsewhere: `kvOf(i)` is the value of `keys[i]`, if it exists. */
  loaded(keys: readonly string[], kvOf: (i: number) => IKeyValue | undefined): void {
    keys.forEach((k, i) => {
      const kv = kvOf(i);
      this.#objects.set(k, kv ? decode(kv) : undefined);
    });
  }

  /** Reads these keys (resource keys) into the view; the rules then read only loaded ones. */
  async load(keys: readonly string[]): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.#objects.has(k));
    for (let i = 0; i < missing.length; i += READ_BATCH) {
      const batch = missing.slice(i, i + READ_BATCH);
      const res = await this.store.call(() =>
        this.store.client.kv.txn({
          compare: [],
          success: batch.map((k) => ({
            request_range: { key: Buffer.from(this.keys.objects + k) },
          })),
        }),
      );
      this.loaded(batch, (j) => res.responses[j]?.response_range.kvs[0]);
    }
  }

  /** Loads every policy of the tiered kinds (a tier is about to be deleted). */
  async loadPolicies(): Promise<void> {
    for (const kind of TIERED_KINDS) {
      this.#policies.push(
        ...(await this.store.rangeAll(`${this.keys.objects}${MICROSEG_GROUP}/${kind}/`)).items,
      );
    }
  }

  get(key: string): StoredResource | undefined {
    if (!this.#objects.has(key)) throw new Error(`etcd write: ${key} was not loaded`);
    return this.#objects.get(key);
  }

  put(object: StoredResource): void {
    this.#objects.set(resourceKey(object), object);
    this.ops.push(put(objectKey(this.keys, object), JSON.stringify(object)));
    this.#count++;
  }

  remove(stored: StoredResource): StoredResource {
    const gone = deletedAt(stored, this.next);
    this.#objects.set(resourceKey(stored), undefined);
    this.ops.push({ request_delete_range: { key: Buffer.from(objectKey(this.keys, stored)) } });
    this.#count++;
    return gone;
  }

  hasTier(name: string): boolean {
    return this.get(`${MICROSEG_GROUP}/Tier//${name}`) !== undefined;
  }

  policyInTier(name: string): string | undefined {
    // A policy this transaction wrote or removed counts as it now is.
    const holding = this.#policies
      .map((p) => {
        const key = resourceKey(p);
        return this.#objects.has(key) ? this.#objects.get(key) : p;
      })
      .filter((p): p is StoredResource => p !== undefined && tierOf(p) === name)
      .sort((a, b) => (a.kind !== b.kind ? (a.kind < b.kind ? -1 : 1) : byNamespaceThenName(a, b)));
    return holding[0] ? describeObject(holding[0]) : undefined;
  }

  /** The transaction etcd runs: PREFIX/rev first (the watch reads deletes' revision from it). */
  commitOps(): IRequestOp[] {
    return [
      put(this.keys.revision, String(this.last)),
      ...this.ops,
      put(logKey(this.keys, this.last), ""),
    ];
  }
}

export class EtcdDatastore implements Datastore {
  readonly client: Etcd3;
  readonly keys: KeySpace;
  readonly #retain: number;
  readonly #watches = new Set<{ fail(e: DatastoreError): void }>();
  #writesSinceCompaction = 0;
  #closed = false;

  private constructor(client: Etcd3, opts: EtcdOptions) {
    this.client = client;
    this.keys = keySpace(opts.prefix ?? "/microseg");
    this.#retain = opts.retainRevisions ?? 10_000;
  }

  /** Connects to etcd at `hosts` (`HOST:PORT` each) and seeds a fresh store's built-in tiers. */
  static async open(hosts: readonly string[], opts: EtcdOptions = {}): Promise<EtcdDatastore> {
    const timeout = opts.callTimeoutMs ?? 10_000;
    const client = new Etcd3({
      hosts: hosts.map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`)),
      dialTimeout: timeout,
      grpcOptions: { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    const store = new EtcdDatastore(client, opts);
    try {
      await store.#seed();
    } catch (e) {
      client.close();
      throw e;
    }
    return store;
  }

  /** Runs one etcd call; its failures are Unavailable (or the DatastoreError it threw). */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new DatastoreError("Unavailable", "datastore closed");
    try {
      return await fn();
    } catch (e) {
      throw this.unavailable(e);
    }
  }

  unavailable(e: unknown): DatastoreError {
    if (e instanceof DatastoreError) return e;
    return new DatastoreError("Unavailable", `etcd: ${e instanceof Error ? e.message : String(e)}`);
  }

  /** Every object under `prefix` at one etcd revision, with microseg's revision there. */
  async rangeAll(prefix: string): Promise<{ items: StoredResource[]; revision: number }> {
    const first = await this.call(() =>
      this.client.kv.txn({
        compare: [],
        success: [
          { request_range: { key: Buffer.from(this.keys.revision) } },
          {
            request_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix), limit: PAGE },
          },
        ],
      }),
    );
    const at = first.header.revision;
    const revKv = first.responses[0]?.response_range.kvs[0];
    const page = first.responses[1]!.response_range;
    const items = page.kvs.map(decode);
    let more = page.more;
    let after = page.kvs.at(-1)?.key;
    while (more && after) {
      const key = Buffer.concat([after, Buffer.from([0])]);
      const res = await this.call(() =>
        this.client.kv.range({ key, range_end: prefixEnd(prefix), limit: PAGE, revision: at }),
      );
      items.push(...res.kvs.map(decode));
      more = res.more;
      after = res.kvs.at(-1)?.key;
    }
    return { items, revision: revKv ? Number(revKv.value.toString()) : 0 };
  }

  async get(ref: ObjectRef): Promise<StoredResource> {
    const r = resolveRef(ref);
    const res = await this.call(() =>
      this.client.kv.range({ key: Buffer.from(this.keys.objects + r.key) }),
    );
    const kv = res.kvs[0];
    if (!kv) {
      throw notFound(r);
    }
    return decode(kv);
  }

  async list(opts: ListOptions): Promise<ListResult> {
    const info = kindInfo(opts.kind);
    const filter = listFilter(opts);
    const ns = info.namespaced ? opts.namespace : undefined;
    const prefix = `${this.keys.objects}${kindId(info)}/${ns === undefined ? "" : `${ns}/`}`;
    const { items, revision } = await this.rangeAll(prefix);
    return { items: items.filter(filter).sort(byNamespaceThenName), revision };
  }

  async create(resource: WriteInput): Promise<StoredResource> {
    return this.#writeOne("create", resource);
  }

  async update(resource: WriteInput): Promise<StoredResource> {
    return this.#writeOne("update", resource);
  }

  async delete(ref: ObjectRef, preconditions: Preconditions = {}): Promise<StoredResource> {
    const r = resolveRef(ref);
    return this.#write([r.key], async (tx) => {
      // Whether a Tier still holds policies is answered from every policy, read first.
      if (r.info.group === MICROSEG_GROUP && r.info.kind === "Tier") await tx.loadPolicies();
      return deleteObject(tx, r, preconditions);
    });
  }

  async apply(resources: readonly WriteInput[]): Promise<ApplyResult> {
    const set = incomingSet(resources);
    return this.#write(keysToRead(set), async (tx) => applyObjects(tx, set));
  }

  async snapshot(): Promise<{
    readonly items: readonly StoredResource[];
    readonly revision: number;
  }> {
    return this.rangeAll(this.keys.objects);
  }

  /** Never throws: every failure, a bad kind included, reaches `listener.onError`. */
  watch(opts: WatchOptions, listener: WatchListener): Watch {
    try {
      if (this.#closed) throw new DatastoreError("Unavailable", "datastore closed");
      if (!Number.isSafeInteger(opts.fromRevision) || opts.fromRevision < 0) {
        throw new DatastoreError(
          "Invalid",
          `watch: fromRevision ${opts.fromRevision} is not a revision`,
          [
            {
              code: "manifest.field",
              path: "resourceVersion",
              message: "must be a non-negative integer",
            },
          ],
        );
      }
      let stopWatch: () => void = () => {};
      const entry = {
        fail: (e: DatastoreError) => {
          stopWatch();
          listener.onError(e);
        },
      };
      const watch = watchEtcd(
        { client: this.client, keys: this.keys, fail: (e) => this.unavailable(e) },
        opts,
        listener,
        () => this.#watches.delete(entry),
      );
      stopWatch = () => watch.stop();
      this.#watches.add(entry);
      return watch;
    } catch (e) {
      const error = this.unavailable(e);
      queueMicrotask(() => listener.onError(error));
      return { stop() {} };
    }
  }

  async revision(): Promise<number> {
    const res = await this.call(() =>
      this.client.kv.range({ key: Buffer.from(this.keys.revision) }),
    );
    const kv = res.kvs[0];
    return kv ? Number(kv.value.toString()) : 0;
  }

  /**
   * Forgets the change log up to `revision`: PREFIX/compacted moves there (watches from below
   * get ExpiredError), the log keys up to it go, and etcd compacts its history up to the last
   * transaction wholly at or below it.
   */
  async compact(revision: number): Promise<void> {
    const { keys } = this;
    const state = await this.call(() =>
      this.client.kv.txn({
        compare: [],
        success: [
          { request_range: { key: Buffer.from(keys.revision) } },
          { request_range: { key: Buffer.from(keys.compacted) } },
        ],
      }),
    );
    const read = (i: number) => {
      const kv = state.responses[i]?.response_range.kvs[0];
      return kv ? Number(kv.value.toString()) : 0;
    };
    const upTo = Math.min(Math.floor(revision), read(0));
    if (upTo <= read(1)) return;
    const end = Buffer.concat([Buffer.from(logKey(keys, upTo)), Buffer.from([0])]);
    const lastTxn = await this.call(() =>
      this.client.kv.range({
        key: Buffer.from(keys.log),
        range_end: end,
        limit: 1,
        sort_order: "Descend",
        sort_target: "Key",
      }),
    );
    await this.call(() =>
      this.client.kv.txn({
        compare: [],
        success: [
          put(keys.compacted, String(upTo)),
          { request_delete_range: { key: Buffer.from(keys.log), range_end: end } },
        ],
      }),
    );
    const etcdRevision = lastTxn.kvs[0]?.mod_revision;
    if (etcdRevision !== undefined) {
      await this.call(() => this.client.kv.compact({ revision: etcdRevision })).catch(
        (e: DatastoreError) => {
          // Already compacted further (by another API server, or an operator): nothing to do.
          if (!/compacted/.test(e.message)) throw e;
        },
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#watches])
      w.fail(new DatastoreError("Unavailable", "datastore closed"));
    this.#watches.clear();
    this.client.close();
  }

  async #writeOne(mode: WriteMode, resource: WriteInput): Promise<StoredResource> {
    const incoming = incomingObject(resource);
    return this.#write(keysToRead([incoming]), async (tx) => writeObject(tx, mode, incoming));
  }

  /**
   * Runs `body` on a fresh view and commits its changes if PREFIX/rev is still as read; on a
   * lost race, again from the start. Nothing is written when `body` throws.
   */
  async #write<T>(preload: readonly string[], body: (tx: EtcdWriteTx) => Promise<T>): Promise<T> {
    const deadline = Date.now() + CONTENTION_MS;
    // The first read takes PREFIX/rev and a first batch of the objects together.
    const first = preload.slice(0, READ_BATCH);
    for (let attempt = 0; ; attempt++) {
      const res = await this.call(() =>
        this.client.kv.txn({
          compare: [],
          success: [this.keys.revision, ...first.map((k) => this.keys.objects + k)].map((k) => ({
            request_range: { key: Buffer.from(k) },
          })),
        }),
      );
      const kv = res.responses[0]?.response_range.kvs[0];
      if (!kv) throw new DatastoreError("Unavailable", `etcd: ${this.keys.revision} is missing`);
      const tx = new EtcdWriteTx(this, this.keys, Number(kv.value.toString()), kv.mod_revision);
      tx.loaded(first, (i) => res.responses[i + 1]?.response_range.kvs[0]);
      await tx.load(preload);
      const result = await body(tx);
      if (!tx.changed) return result;
      const ops = tx.commitOps();
      let committed: boolean;
      try {
        committed = (
          await this.client.kv.txn({
            compare: [
              {
                key: Buffer.from(this.keys.revision),
                target: "Mod",
                result: "Equal",
                mod_revision: tx.guard,
              },
            ],
            success: ops,
          })
        ).succeeded;
      } catch (e) {
        throw tooBig(e, ops.length - 2) ?? this.unavailable(e);
      }
      if (committed) {
        this.#afterWrite(tx.last);
        return result;
      }
      if (Date.now() > deadline) {
        throw new DatastoreError(
          "Unavailable",
          `etcd: a write lost ${attempt + 1} races for ${this.keys.revision}`,
        );
      }
      // Another writer committed in between: a short random pause spreads the retries.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 1 + attempt * 2)));
    }
  }

  /** Compaction is checked every 100 writes of this client, so its cost is amortized. */
  #afterWrite(revision: number): void {
    if (this.#retain <= 0 || ++this.#writesSinceCompaction < 100) return;
    this.#writesSinceCompaction = 0;
    if (revision > this.#retain) void this.compact(revision - this.#retain).catch(() => {});
  }

  async #seed(): Promise<void> {
    const { keys } = this;
    const exists = await this.call(() => this.client.kv.range({ key: Buffer.from(keys.revision) }));
    if (exists.kvs.length > 0) return;
    const tiers = builtinTierObjects().map(
      (tier, i) => planWrite("create", tier, undefined, i + 1, randomUUID).object,
    );
    const last = tiers.length;
    await this.call(() =>
      this.client.kv.txn({
        // Whoever seeds first wins; the others find the store made.
        compare: [
          {
            key: Buffer.from(keys.revision),
            target: "Create",
            result: "Equal",
            create_revision: 0,
          },
        ],
        success: [
          put(keys.revision, String(last)),
          ...tiers.map((t) => put(objectKey(keys, t), JSON.stringify(t))),
          put(logKey(keys, last), ""),
        ],
      }),
    );
  }
}
