// The outbox: every change the resident saves goes here first (IndexedDB, queue-store.js), then to
// the server whenever the network allows, each element's changes in the order made (a pass sends up
// to LANES independent items at once; see touches). Pure: the store and `send` are
// passed in, so tests/js/queue.test.js runs it in Node with an in-memory store and a fake server.
//
// Items (plain objects, stored as they are; `seq` is the store's increasing key = the order made):
//   {seq, kind: "edit", key, url, body, feature}   body carries `idempotency_key: key`
//   {seq, kind: "photo", key, editKey, partyId, blob, name, licence}
// An item may carry `state: "conflict"` (+ `conflict`, the 409 answer): held until the resident
// chooses in the conflict screen (resolve) or gives the change up (discard).
//
// Replaying is safe: an answer lost on the way back leaves the item queued, and the server applies
// a key once (a replay answers 200 with the revision saved before), so nothing is applied twice.
// A photo goes only after its edit was acknowledged (no edit item with its key left); a refused edit
// takes its photos with it.

export const SENT = [200, 201];
export const LANES = 4;

// The elements an item touches, as "type/id" keys: its own element (a creation: its own key, as
// nothing queued can refer to an element the server has not numbered yet), and for a way or a
// relation the existing nodes and members it names. Two items sharing a key go in queue order.
export function touches(item) {
  if (item.kind === "photo") return [`edit/${item.editKey}`];
  const b = item.body || {};
  const none = (x) => x === null || x === undefined;
  const keys = [none(b.element_id) ? `new/${item.key}` : `${b.element_type}/${b.element_id}`, `edit/${item.key}`];
  const after = b.after || {};
  for (const n of after.nodes || []) if (Array.isArray(n) && !none(n[0])) keys.push(`node/${n[0]}`);
  for (const m of after.members || []) if (m && !none(m.ref)) keys.push(`${m.type}/${m.ref}`);
  return keys;
}

// `store`: {all() -> items sorted by seq, add(item) -> seq, put(item), delete(seq)}.
// `send(item)` -> {status, data}; status 0 = no network. `events`: onSent(item, data),
// onConflict(item, data), onRefused(item, data, status), onChange(count, items).
// `lanes`: how many items may be in flight at once (1 = strictly one after the other).
export function createQueue(store, send, events = {}, { lanes = LANES } = {}) {
  const on = (name, ...args) => events[name] && events[name](...args);
  let chain = Promise.resolve(); // the passes, one after the other
  let waiting = null; // the pass asked for and not started yet

  async function count() {
    const items = await store.all();
    on("onChange", items.length, items);
    return items.length;
  }

  async function enqueue(item) {
    const seq = await store.add(item);
    await count();
    return seq;
  }

  // Returns the seqs dropped (the edit and its photos).
  async function dropEdit(item) {
    const dropped = new Set([item.seq]);
    await store.delete(item.seq);
    for (const other of await store.all()) {
      if (other.kind === "photo" && other.editKey === item.key) {
        dropped.add(other.seq);
        await store.delete(other.seq);
      }
    }
    return dropped;
  }

  // What an item settled: "ok" or "offline" (network error, 5xx, 429: the item keeps its place).
  async function settle(item, { status, data }, state) {
    if (status === 0 || status === 429 || status >= 500) return "offline";
    if (SENT.includes(status)) {
      await store.delete(item.seq);
      if (item.kind === "edit") state.waitingEdits.delete(item.key);
      on("onSent", item, data);
    } else if (status === 409 && item.kind === "edit") {
      await store.put({ ...item, state: "conflict", conflict: data });
      on("onConflict", { ...item, state: "conflict", conflict: data }, data, status);
    } else if (item.kind === "edit") {
      (await dropEdit(item)).forEach((seq) => state.settled.add(seq));
      state.waitingEdits.delete(item.key);
      on("onRefused", item, data, status);
    } else {
      await store.delete(item.seq);
      on("onRefused", item, data, status);
    }
    await count();
    return "ok";
  }

  // The items that may start now, in order: not settled nor started, touching no element an
  // earlier unsettled item touches (that one goes first), a photo only once its edit was
  // acknowledged; at most `free` of them.
  function ready(items, state, free) {
    const busy = new Set();
    const out = [];
    for (const item of items) {
      if (state.settled.has(item.seq)) continue;
      const keys = touches(item);
      const blocked = keys.some((k) => busy.has(k)) || (item.kind === "photo" && state.waitingEdits.has(item.editKey));
      keys.forEach((k) => busy.add(k));
      if (blocked || state.started.has(item.seq)) continue;
      if (out.length >= free) break;
      out.push(item);
    }
    return out;
  }

  // One pass over the queue: up to `lanes` independent items in flight at once. Returns "done"
  // (empty or only held items left) or "offline" (a network error, a 5xx or a 429 somewhere: no
  // new item starts, those in flight settle, the rest waits for the next flush in the same order).
  async function pass() {
    const all = await store.all();
    const items = all.filter((i) => i.state !== "conflict");
    const state = {
      waitingEdits: new Set(all.filter((i) => i.kind === "edit").map((i) => i.key)),
      settled: new Set(), started: new Set(),
    };
    const running = new Set();
    let offline = false;
    const start = (item) => {
      state.started.add(item.seq);
      const run = Promise.resolve()
        .then(() => send(item))
        .then((answer) => settle(item, answer, state))
        .catch(() => "offline")
        .then((result) => {
          running.delete(run);
          if (result === "offline") offline = true;
          else state.settled.add(item.seq);
        });
      running.add(run);
    };
    for (;;) {
      if (!offline) ready(items, state, lanes - running.size).forEach(start);
      if (!running.size) break;
      await Promise.race(running);
    }
    return offline ? "offline" : "done";
  }

  // Passes never overlap (a flush asked for during one runs after it), so no item is sent twice at
  // once; calls made while a pass waits to start share it.
  function flush() {
    if (waiting) return waiting;
    waiting = chain.then(() => {
      waiting = null;
      return pass();
    });
    chain = waiting.catch(() => "offline");
    return waiting;
  }

  // The conflict screen's choice: the merged change replaces the held one at its place in the
  // queue, under a new key (the old one was refused); its photos follow it.
  async function resolve(item, body) {
    const key = body.idempotency_key;
    const rest = { ...item, key, body };
    delete rest.state;
    delete rest.conflict;
    await store.put(rest);
    for (const other of await store.all()) {
      if (other.kind === "photo" && other.editKey === item.key) await store.put({ ...other, editKey: key });
    }
    await count();
    return flush();
  }

  async function discard(item) {
    await dropEdit(item);
    return count();
  }

  return { enqueue, flush, resolve, discard, count };
}

// The in-memory store (tests, and the page when IndexedDB is unavailable: private windows of some
// browsers), with the same contract as queue-store.js.
export function memoryStore() {
  const items = new Map();
  let last = 0;
  const copy = (x) => ({ ...x });
  return {
    async all() {
      return Array.from(items.values()).sort((a, b) => a.seq - b.seq).map(copy);
    },
    async add(item) {
      last += 1;
      items.set(last, { ...item, seq: last });
      return last;
    },
    async put(item) {
      items.set(item.seq, copy(item));
    },
    async delete(seq) {
      items.delete(seq);
    },
  };
}
