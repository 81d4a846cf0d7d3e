// The outbox (mapping/static/mapping/js/party-map/queue.js) against an in-memory store and a fake
// server that honours idempotency keys as the real one does: order, replay after a network error,
// 409 held for the conflict screen, 400 given back, photos after their edit, nothing applied twice.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createQueue, memoryStore, touches } from "../../mapping/static/mapping/js/party-map/queue.js";

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

test("one lane: a 5xx or a 429 stops the pass without skipping: the later changes keep their place", async () => {
  for (const status of [500, 503, 429]) {
    const server = fakeServer({ b: [status, 201] });
    const q = createQueue(memoryStore(), server.send, {}, { lanes: 1 });
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
  assert.ok(!server.calls.includes("pa")); // the photo did not go before its edit
  assert.equal(await q.flush(), "done");
  assert.deepEqual(server.applied.sort(), ["a", "pa", "z"]);
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

// A server whose answers the test gives by hand: `log` lists "+key" when a send starts and "-key"
// when it is answered; `answer(key, status)` answers the send in flight for `key`.
function gatedServer() {
  const log = [];
  const open = new Map();
  let inFlight = 0;
  const stats = { max: 0 };
  const send = (item) => new Promise((resolve) => {
    log.push(`+${item.key}`);
    inFlight += 1;
    stats.max = Math.max(stats.max, inFlight);
    open.set(item.key, (status) => {
      inFlight -= 1;
      open.delete(item.key);
      log.push(`-${item.key}`);
      resolve({ status, data: status < 300 ? { id: item.key } : { detail: `refused ${item.key}` } });
    });
  });
  const tick = () => new Promise((r) => setTimeout(r, 0));
  // answer: one send's answer; drain: 201 to every send in flight until `done` settles.
  const answer = async (key, status = 201) => {
    await tick();
    assert.ok(open.has(key), `${key} is not in flight (log: ${log.join(" ")})`);
    open.get(key)(status);
    await tick();
  };
  const drain = async (done) => {
    let over = false;
    done.then(() => { over = true; });
    while (!over) {
      await tick();
      for (const [, reply] of Array.from(open)) reply(201);
    }
  };
  return { send, log, open, stats, answer, drain };
}

const on = (key, type, id, extra = {}) => ({
  kind: "edit", key, url: "/api/parties/1/edits/",
  body: { idempotency_key: key, element_type: type, element_id: id, ...extra },
});

test("independent changes go up to four at once, never more", async () => {
  const server = gatedServer();
  const q = createQueue(memoryStore(), server.send);
  for (let i = 0; i < 10; i++) await q.enqueue(on(`n${i}`, "node", null));
  const done = q.flush();
  await server.drain(done);
  assert.equal(await done, "done");
  assert.equal(server.stats.max, 4);
  assert.deepEqual(server.log.filter((e) => e[0] === "+"), Array.from({ length: 10 }, (_, i) => `+n${i}`));
  assert.equal(await q.count(), 0);
});

test("changes of the same element go one after the other, in the order made", async () => {
  const server = gatedServer();
  const q = createQueue(memoryStore(), server.send);
  await q.enqueue(on("m1", "node", 5));
  await q.enqueue(on("x", "node", 6));
  await q.enqueue(on("m2", "node", 5));
  await q.enqueue(on("w", "way", 9, { after: { nodes: [[5, 9.5, 47.1], [null, 9.6, 47.1]] } }));
  await q.enqueue(on("m3", "node", 5));
  const done = q.flush();
  await server.answer("x");
  assert.deepEqual(server.log, ["+m1", "+x", "-x"]); // m2, the way naming node 5 and m3 wait for m1
  await server.answer("m1");
  assert.deepEqual(server.log.slice(3), ["-m1", "+m2"]);
  await server.answer("m2");
  await server.answer("w");
  await server.answer("m3");
  assert.equal(await done, "done");
  assert.deepEqual(server.log.filter((e) => e[0] === "+"), ["+m1", "+x", "+m2", "+w", "+m3"]);
});

test("with lanes, a photo starts only once its own edit was acknowledged", async () => {
  const server = gatedServer();
  const q = createQueue(memoryStore(), server.send);
  await q.enqueue(on("a", "node", null));
  await q.enqueue(photo("pa", "a"));
  await q.enqueue(on("b", "node", null));
  const done = q.flush();
  await server.answer("b");
  assert.ok(!server.log.includes("+pa"));
  await server.answer("a");
  await server.answer("pa");
  assert.equal(await done, "done");
  assert.ok(server.log.indexOf("+pa") > server.log.indexOf("-a"));
});

test("a failure in one lane starts nothing new; the sends in flight settle; the next pass goes on", async () => {
  const server = gatedServer();
  const { log, events } = recorder();
  const store = memoryStore();
  const q = createQueue(store, server.send, events);
  for (const k of ["a", "b", "c", "d", "e", "f"]) await q.enqueue(on(k, "node", null));
  await q.enqueue(on("b2", "node", null));
  const done = q.flush();
  await server.answer("b", 503);
  await server.answer("a");
  await server.answer("c");
  await server.answer("d");
  assert.equal(await done, "offline");
  assert.deepEqual(server.log.filter((e) => e[0] === "+"), ["+a", "+b", "+c", "+d"]); // e, f never started
  assert.deepEqual(log.sent, ["a", "c", "d"]);
  assert.deepEqual((await store.all()).map((i) => i.key), ["b", "e", "f", "b2"]); // b kept its place
  const again = q.flush();
  await server.drain(again);
  assert.equal(await again, "done");
  assert.deepEqual(log.sent.slice(3).sort(), ["b", "b2", "e", "f"]);
});

test("with lanes, flushes asked for at once never send an item twice", async () => {
  const server = gatedServer();
  const q = createQueue(memoryStore(), server.send);
  for (let i = 0; i < 9; i++) await q.enqueue(on(`n${i}`, "node", i % 3 ? null : 1));
  const flushes = [q.flush(), q.flush(), q.flush()];
  const later = [];
  for (let i = 0; i < 5; i++) later.push(server.drain(flushes[0]).then(() => q.flush()));
  await server.drain(Promise.all([...flushes, ...later]));
  const starts = server.log.filter((e) => e[0] === "+");
  assert.equal(starts.length, 9);
  assert.equal(new Set(starts).size, 9);
  assert.equal(await q.count(), 0);
});

test("touches: an element's own key, a creation's own key, the nodes and members it names", () => {
  assert.deepEqual(touches(on("k", "node", null)), ["new/k", "edit/k"]);
  assert.deepEqual(touches(on("k", "way", 3, { after: { nodes: [[4, 0, 0], [null, 1, 1]] } })), ["way/3", "edit/k", "node/4"]);
  assert.deepEqual(touches(on("k", "relation", 2, { after: { members: [{ type: "way", ref: 3, role: "" }] } })), ["relation/2", "edit/k", "way/3"]);
  assert.deepEqual(touches(photo("p", "k")), ["edit/k"]);
});
