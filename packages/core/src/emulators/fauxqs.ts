import { join } from "node:path";
import { buildApp } from "fauxqs";

/** A running fauxqs (SQS + S3 emulator), in this process. */
export interface FauxqsEmulator {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** The fauxqs pieces `startFauxqs` wires together for persistence (see {@link loadPersistence}). */
interface StoreModules {
  SqsStore: new () => FauxqsStore;
  SnsStore: new () => FauxqsStore;
  S3Store: new () => FauxqsStore;
  PersistenceManager: new (dir: string) => SqlitePersistence;
  FileS3Persistence: new (dir: string) => FileS3Persistence;
}
interface FauxqsStore {
  persistence?: unknown;
  allQueues?(): Array<{ persistence?: unknown }>;
}
interface SqlitePersistence {
  db: { exec(sql: string): void };
  loadSqsAndSns(sqs: FauxqsStore, sns: FauxqsStore): void;
  close(): void;
}
interface FileS3Persistence {
  loadS3(s3: FauxqsStore): void;
  close(): void;
}

/**
 * fauxqs' own persistence (queues and messages, in flight or not, in SQLite; objects as files)
 * is wired only by its `startFauxqs`, which listens on every interface. The same wiring is done
 * here, from fauxqs' modules (not in its package exports, so reached by path beside its entry),
 * and the app bound to loopback.
 */
async function loadPersistence(): Promise<StoreModules> {
  const dist = import.meta.resolve("fauxqs");
  const load = async (path: string) => (await import(new URL(path, dist).href)) as Record<string, unknown>;
  const [sqs, sns, s3, sqlite, files] = await Promise.all([
    load("./sqs/sqsStore.js"),
    load("./sns/snsStore.js"),
    load("./s3/s3Store.js"),
    load("./persistence.js"),
    load("./s3/fileS3Persistence.js"),
  ]);
  return {
    SqsStore: sqs.SqsStore,
    SnsStore: sns.SnsStore,
    S3Store: s3.S3Store,
    PersistenceManager: sqlite.PersistenceManager,
    FileS3Persistence: files.FileS3Persistence,
  } as StoreModules;
}

/**
 * Restores the stores from `dataDir` and has every later change written through: queues and
 * tickets to `dataDir/fauxqs.db`, objects (payloads and results) as files under `dataDir/s3`
 * (large bodies stay out of the database). Returns what closes the files.
 */
async function persistentStores(dataDir: string) {
  const m = await loadPersistence();
  const stores = { sqsStore: new m.SqsStore(), snsStore: new m.SnsStore(), s3Store: new m.S3Store() };
  const sqlite = new m.PersistenceManager(dataDir);
  // WAL with NORMAL sync: a commit survives a crash of this process (only a power loss can lose
  // the last ones), without an fsync per ticket.
  sqlite.db.exec("PRAGMA synchronous = NORMAL");
  const files = new m.FileS3Persistence(join(dataDir, "s3"));
  // As startFauxqs does: load first, then attach (a load written back would cascade deletes).
  sqlite.loadSqsAndSns(stores.sqsStore, stores.snsStore);
  files.loadS3(stores.s3Store);
  stores.sqsStore.persistence = sqlite;
  stores.snsStore.persistence = sqlite;
  for (const queue of stores.sqsStore.allQueues?.() ?? []) queue.persistence = sqlite;
  stores.s3Store.persistence = files;
  return {
    stores,
    close: () => {
      sqlite.close();
      files.close();
    },
  };
}

/**
 * Starts fauxqs in-process on a free port bound to 127.0.0.1 (its own `startFauxqs` binds
 * 0.0.0.0, so the app is built and bound here). Queues and buckets are created through the
 * SDK from the grid definition, exactly as on AWS. Without `dataDir` state is in memory; with
 * it, queues, tickets and objects survive a restart on the same directory.
 */
export async function startFauxqsEmulator(
  options: { port?: number; dataDir?: string } = {},
): Promise<FauxqsEmulator> {
  const persistent = options.dataDir ? await persistentStores(options.dataDir) : undefined;
  const app = buildApp({
    logger: false,
    host: "127.0.0.1",
    ...(persistent ? { stores: persistent.stores as never } : {}),
  });
  if (persistent) app.addHook("preClose", () => persistent.close());
  let address: string;
  try {
    address = await app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
  const port = Number(new URL(address).port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await app.close();
    },
  };
}
