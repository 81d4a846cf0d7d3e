// Where the outbox lives across reloads, closed tabs and restarted phones: IndexedDB (through the
// vendored idb wrapper), one object store "queue" keyed by an increasing `seq` (the order the
// changes were made). Same contract as queue.js's memoryStore; photos are stored as their Blob.
import { openDB } from "../../../vendor/idb@8.0.4/index.js";
import { memoryStore } from "./queue.js";

const DB_NAME = "cartoparty-offline";
const STORE = "queue";

export async function openQueueStore() {
  let db;
  try {
    db = await openDB(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      },
    });
  } catch {
    return memoryStore(); // no IndexedDB here (some private windows): the queue lasts the page
  }
  return {
    async all() {
      return db.getAll(STORE); // by key: seq order
    },
    async add(item) {
      const rest = { ...item };
      delete rest.seq;
      return db.add(STORE, rest);
    },
    async put(item) {
      await db.put(STORE, item);
    },
    async delete(seq) {
      await db.delete(STORE, seq);
    },
  };
}
