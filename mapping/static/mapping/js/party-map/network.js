// Talking to the API, without the page: the CSRF token, idempotency keys, a POST that retries, a GET.
// Pure of browser globals at load time (fetch, sleep and crypto are passed or read when called), so
// tests/js/network.test.js runs it in Node with a fake fetch.

export const MAX_ATTEMPTS = 6;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 16000;

export function csrfToken(cookie) {
  const m = cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// A fresh idempotency key: the server applies a change once whatever the number of retries carrying it.
export function newKey(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl.randomUUID) return cryptoImpl.randomUUID();
  const b = new Uint8Array(16);
  cryptoImpl.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const realSleep = (ms) => new Promise((r) => setTimeout(r, ms));

// POST `body` (sent as is on every attempt, so with the same idempotency key) and return
// {status, data}; 5xx and network errors are retried with backoff (1, 2, 4... 16 s), 429 after its
// Retry-After; six attempts in all, then {status: 0}. Any other status is the answer. `onWait(reason,
// seconds)` ("retrying" or "rateLimited") lets the page say why it waits.
export async function postWithRetry(url, body, options = {}) {
  const { fetch = globalThis.fetch, sleep = realSleep, csrf = "", onWait = () => {} } = options;
  const headers = { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf };
  let delay = FIRST_DELAY_MS;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let resp;
    try {
      resp = await fetch(url, { method: "POST", headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
    } catch {
      resp = null;
    }
    if (resp && resp.status === 429) {
      const wait = Math.max(1, parseInt(resp.headers.get("Retry-After") || "5", 10));
      onWait("rateLimited", wait);
      await sleep(wait * 1000);
      continue;
    }
    if (!resp || resp.status >= 500) {
      if (attempt === MAX_ATTEMPTS - 1) break;
      onWait("retrying", Math.round(delay / 1000));
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
      continue;
    }
    return answerOf(resp);
  }
  return { status: 0, data: null };
}

// A response as {status, data}: its JSON body, or null when it has none (an HTML error page).
export async function answerOf(resp) {
  try {
    return { status: resp.status, data: await resp.json() };
  } catch {
    return { status: resp.status, data: null };
  }
}

export async function getJSON(url, fetch = globalThis.fetch) {
  const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!resp.ok) throw new Error(String(resp.status));
  return resp.json();
}
