// The save path's POST (mapping/static/mapping/js/party-map/network.js) with a fake fetch and a fake
// sleep: what is retried, how long it waits, and that every attempt carries the same idempotency key.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_ATTEMPTS, csrfToken, newKey, postWithRetry } from "../../mapping/static/mapping/js/party-map/network.js";

// A fetch answering `answers` in order: a number is a status (with a JSON body), "down" a network error.
function fakeFetch(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ...init });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (answer === "down") throw new TypeError("Failed to fetch");
    const { status, retryAfter } = typeof answer === "number" ? { status: answer } : answer;
    return {
      status,
      headers: { get: (name) => (name === "Retry-After" ? retryAfter ?? null : null) },
      json: async () => ({ status }),
    };
  };
  return { fetch, calls };
}

function recorder() {
  const slept = [];
  const waits = [];
  return { slept, waits, sleep: async (ms) => { slept.push(ms); }, onWait: (reason, s) => waits.push([reason, s]) };
}

const body = { action: "modify", idempotency_key: "k-1" };

test("server errors and network errors are retried with doubling delays, with the same body and key", async () => {
  const { fetch, calls } = fakeFetch([503, "down", 500, 201]);
  const r = recorder();
  const answer = await postWithRetry("/edits", body, { fetch, sleep: r.sleep, onWait: r.onWait, csrf: "tok" });
  assert.deepEqual(answer, { status: 201, data: { status: 201 } });
  assert.equal(calls.length, 4);
  assert.deepEqual(r.slept, [1000, 2000, 4000]);
  assert.deepEqual(r.waits, [["retrying", 1], ["retrying", 2], ["retrying", 4]]);
  for (const call of calls) {
    assert.equal(call.method, "POST");
    assert.equal(call.body, JSON.stringify(body)); // same idempotency key: the server applies it once
    assert.equal(call.headers["X-CSRFToken"], "tok");
  }
});

test("after six failed attempts it gives up with status 0; the delay stops growing at 16 s", async () => {
  const { fetch, calls } = fakeFetch(["down"]);
  const r = recorder();
  assert.deepEqual(await postWithRetry("/edits", body, { fetch, sleep: r.sleep }), { status: 0, data: null });
  assert.equal(calls.length, MAX_ATTEMPTS);
  assert.deepEqual(r.slept, [1000, 2000, 4000, 8000, 16000]);
});

test("429 waits for its Retry-After (5 s when missing) and says so", async () => {
  const { fetch, calls } = fakeFetch([{ status: 429, retryAfter: "3" }, 429, 200]);
  const r = recorder();
  const answer = await postWithRetry("/undo", null, { fetch, sleep: r.sleep, onWait: r.onWait });
  assert.equal(answer.status, 200);
  assert.equal(calls.length, 3);
  assert.equal(calls[0].body, undefined);
  assert.deepEqual(r.slept, [3000, 5000]);
  assert.deepEqual(r.waits, [["rateLimited", 3], ["rateLimited", 5]]);
});

test("a client error is the answer at once, with its body or null when it has none", async () => {
  const { fetch, calls } = fakeFetch([409]);
  assert.deepEqual(await postWithRetry("/edits", body, { fetch, sleep: async () => assert.fail("no wait") }), { status: 409, data: { status: 409 } });
  assert.equal(calls.length, 1);
  const noBody = async () => ({ status: 400, headers: { get: () => null }, json: async () => { throw new SyntaxError("empty"); } });
  assert.deepEqual(await postWithRetry("/edits", body, { fetch: noBody }), { status: 400, data: null });
});

test("the CSRF token comes from its cookie; each key is new", () => {
  assert.equal(csrfToken("sessionid=x; csrftoken=a%2Bb; other=1"), "a+b");
  assert.equal(csrfToken("sessionid=x"), "");
  assert.notEqual(newKey(), newKey());
  const noUuid = { getRandomValues: (b) => b.fill(171) };
  assert.equal(newKey(noUuid), "ab".repeat(16));
});
