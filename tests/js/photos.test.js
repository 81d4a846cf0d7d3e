// uploadPhoto (mapping/static/mapping/js/party-map/photos.js): the one call of the photo endpoint, as
// the offline queue will make it: the URL from the edit's key, the multipart fields, retries that keep
// the photo's key, and the answer as {status, data}.
import assert from "node:assert/strict";
import { test } from "node:test";

import { uploadPhoto } from "../../mapping/static/mapping/js/party-map/photos.js";

const file = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], "IMG_1.jpg", { type: "image/jpeg" });
const args = { partyId: 7, editKey: "a b/c", file, key: "5b0c9c1e-3f0e-4c55-9b7a-0d2f1e6a7c11" };

function fakeFetch(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return { status: next.status, json: async () => next.body };
  };
  return { fetch, calls };
}

test("posts the photo, its key and the CSRF token to the edit's photos URL", async () => {
  const { fetch, calls } = fakeFetch([{ status: 201, body: { id: 3, thumbnail: "/photos/3/thumb.jpg", display: "/photos/3/display.jpg" } }]);
  const result = await uploadPhoto({}, { ...args, licence: "CC-BY-SA-4.0" }, { fetch, cookie: "csrftoken=tok", sleep: async () => {} });
  assert.deepEqual(result, { status: 201, data: { id: 3, thumbnail: "/photos/3/thumb.jpg", display: "/photos/3/display.jpg" } });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, "/api/parties/7/edits/a%20b%2Fc/photos/");
  assert.equal(calls[0].init.method, "POST");
  assert.equal(calls[0].init.headers["X-CSRFToken"], "tok");
  const form = calls[0].init.body;
  assert.equal(form.get("key"), args.key);
  assert.equal(form.get("licence"), "CC-BY-SA-4.0");
  assert.equal(form.get("photo").name, "IMG_1.jpg");
});

test("network errors and 5xx are retried with the same key; a 4xx is the answer", async () => {
  const { fetch, calls } = fakeFetch([new Error("offline"), { status: 503, body: null }, { status: 400, body: { detail: "not a photo" } }]);
  const waits = [];
  const result = await uploadPhoto({}, args, { fetch, cookie: "", sleep: async (ms) => { waits.push(ms); } });
  assert.deepEqual(result, { status: 400, data: { detail: "not a photo" } });
  assert.deepEqual(calls.map((c) => c.init.body.get("key")), [args.key, args.key, args.key]);
  assert.equal(calls[0].init.body.get("licence"), null); // no licence chosen: none sent
  assert.deepEqual(waits, [2000, 4000]);
});

test("after three failed attempts the answer is status 0", async () => {
  const { fetch, calls } = fakeFetch([new Error("x"), new Error("y"), new Error("z")]);
  const result = await uploadPhoto({}, args, { fetch, cookie: "", sleep: async () => {} });
  assert.deepEqual(result, { status: 0, data: null });
  assert.equal(calls.length, 3);
});
