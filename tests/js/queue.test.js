// The outbox (mapping/static/mapping/js/party-map/queue.js) against an in-memory store and a fake
// server that honours idempotency keys as the real one does: order, replay after a network error,
// 409 held for the conflict screen, 400 given back, photos after their edit, nothing applied twice.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createQueue, memoryStore } from "../../mapping/static/mapping/js/party-map/queue.js";

// A server: `applied` lists the keys it applied, once each; `script` maps a key to the answers to
// give it in turn ("down" = no network, or a status), the default being 201.
function fakeServer(script = {}) {
  const applied = [];
  const seen = new Map();
  const calls = [];
  const send = async (item) => {
    calls.push(item.key);
    const answers = script[item.key] || [];
    const n = calls.filter((k) => k === item.key).length - 1;
    const answer = answers[Math.min(n, answers.length - 1)] ?? 201;
    if (answer === "down") return { status: 0, data: null };
    if (answer === "lost") { // applied, but the answer never came back
      if (!seen.has(item.key)) applied.push(item.key);
      seen.set(item.key, true);
      return { status: 0, data: null };
    }
    if (answer !== 201) return { status: answer, data: { detail: `refused ${item.key}` } };
    if (item.kind === "photo" && !seen.has(item.editKey)) return { status: 404, data: { detail: "unknown edit" } };
    const again = seen.has(item.key);
    if (!again) applied.push(item.key);
    seen.set(item.key, true);
    return { status: again ? 200 : 201, data: { id: item.key } };
  };
  return { send, applied, calls };
}

const edit = (key) => ({ kind: "edit", key, url: "/api/parties/1/edits/", body: { idempotency_key: key } });
const photo = (key, editKey) => ({ kind: "photo", key, editKey, url: `/api/parties/1/edits/${editKey}/photos/`, name: "p.jpg" });

function recorder() {
  const log = { sent: [], conflicts: [], refused: [], counts: [] };
  return {
    log,
    events: {
      onSent: (item) => log.sent.push(item.key),
      onConflict: (item, data) => log.conflicts.push([item.key, data]),
      onRefused: (item, data) => log.refused.push([item.key, data.detail]),
      onChange: (n) => log.counts.push(n),
    },
  };
}

test("changes are sent in the order they were made, then the queue is empty", async () => {
  const server = fakeServer();
  const { log, events } = recorder();
  const q = createQueue(memoryStore(), server.send, events);
  for (const k of ["a", "b", "c", "d", "e"]) await q.enqueue(edit(k));
  assert.equal(await q.count(), 5);
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.applied, ["a", "b", "c", "d", "e"]);
  assert.deepEqual(log.sent, ["a", "b", "c", "d", "e"]);
  assert.equal(await q.count(), 0);
  assert.equal(log.counts.at(-1), 0);
});

test("no network: everything stays queued, in order, and goes when the network returns", async () => {
  let online = false;
  const server = fakeServer();
  const send = (item) => (online ? server.send(item) : Promise.resolve({ status: 0, data: null }));
  const store = memoryStore();
  const q = createQueue(store, send);
  await q.enqueue(edit("a"));
  await q.enqueue(edit("b"));
  assert.equal(await q.flush(), "offline");
  assert.deepEqual((await store.all()).map((i) => i.key), ["a", "b"]);
  // A new queue over the same store: the page reloaded, the tab or the phone restarted.
  online = true;
  const again = createQueue(store, send);
  assert.equal(await again.flush(), "done");
  assert.deepEqual(server.applied, ["a", "b"]);
});

test("a 5xx or a 429 stops the pass without skipping: the later changes keep their place", async () => {
  for (const status of [500, 503, 429]) {
    const server = fakeServer({ b: [status, 201] });
    const q = createQueue(memoryStore(), server.send);
    for (const k of ["a", "b", "c"]) await q.enqueue(edit(k));
    assert.equal(await q.flush(), "offline");
    assert.deepEqual(server.applied, ["a"]);
    assert.equal(await q.flush(), "done");
    assert.deepEqual(server.applied, ["a", "b", "c"]);
  }
});

test("an answer lost on the way back: the replay carries the same key and nothing is applied twice", async () => {
  const server = fakeServer({ a: ["lost", 201] });
  const q = createQueue(memoryStore(), server.send);
  await q.enqueue(edit("a"));
  assert.equal(await q.flush(), "offline");
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.calls, ["a", "a"]);
  assert.deepEqual(server.applied, ["a"]);
  assert.equal(await q.count(), 0);
});

test("flushes asked for at once never send an item twice", async () => {
  const server = fakeServer();
  const q = createQueue(memoryStore(), server.send);
  for (const k of ["a", "b", "c"]) await q.enqueue(edit(k));
  await Promise.all([q.flush(), q.flush(), q.flush(), q.flush()]);
  assert.deepEqual(server.calls, ["a", "b", "c"]);
});

test("a 409 is held for the conflict screen; the others go on; the choice is sent under a new key", async () => {
  const server = fakeServer({ b: [409] });
  const { log, events } = recorder();
  const store = memoryStore();
  const q = createQueue(store, server.send, events);
  for (const k of ["a", "b", "c"]) await q.enqueue(edit(k));
  await q.enqueue(photo("pb", "b"));
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.applied, ["a", "c"]);
  assert.equal(log.conflicts.length, 1);
  assert.equal(log.conflicts[0][0], "b");
  assert.equal(await q.count(), 2); // the held change and its photo still wait
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.calls.filter((k) => k === "b"), ["b"]); // held: not sent again by itself
  const [held] = (await store.all()).filter((i) => i.state === "conflict");
  await q.resolve(held, { idempotency_key: "b2", merged: true });
  assert.deepEqual(server.applied, ["a", "c", "b2", "pb"]);
  assert.equal(await q.count(), 0);
});

test("a 400 comes back with its message and takes the change's photos with it", async () => {
  const server = fakeServer({ b: [400] });
  const { log, events } = recorder();
  const q = createQueue(memoryStore(), server.send, events);
  await q.enqueue(edit("a"));
  await q.enqueue(edit("b"));
  await q.enqueue(photo("pb", "b"));
  await q.enqueue(edit("c"));
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.applied, ["a", "c"]);
  assert.deepEqual(log.refused, [["b", "refused b"]]);
  assert.ok(!server.calls.includes("pb"));
  assert.equal(await q.count(), 0);
});

test("a photo waits for its edit, then goes once; a refused photo is dropped with its message", async () => {
  const server = fakeServer({ a: ["down", 201], pz: [400] });
  const { log, events } = recorder();
  const q = createQueue(memoryStore(), server.send, events);
  await q.enqueue(edit("a"));
  await q.enqueue(photo("pa", "a"));
  await q.enqueue(edit("z"));
  await q.enqueue(photo("pz", "z"));
  assert.equal(await q.flush(), "offline");
  assert.deepEqual(server.calls, ["a"]); // the photo did not go before its edit
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.applied, ["a", "pa", "z"]);
  assert.deepEqual(log.refused, [["pz", "refused pz"]]);
  assert.equal(await q.count(), 0);
});

test("discarding a held change drops it and its photos", async () => {
  const server = fakeServer({ a: [409] });
  const store = memoryStore();
  const q = createQueue(store, server.send);
  await q.enqueue(edit("a"));
  await q.enqueue(photo("pa", "a"));
  await q.flush();
  const [held] = await store.all();
  assert.equal(await q.discard(held), 0);
  assert.deepEqual(server.applied, []);
});
