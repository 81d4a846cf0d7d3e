// The party map's page helpers: elements by id, new elements (text only, never HTML), the status
// line, the %(name)s strings from #party-map-strings, and the POST that says why it waits.
import { csrfToken, postWithRetry } from "./network.js";

export const $ = (id) => document.getElementById(id);

export function fmt(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_m, k) => String(values[k]));
}

export function node(tag, attrs, text) {
  const n = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => {
    if (k === "dataset") Object.assign(n.dataset, v);
    else if (v !== undefined && v !== null) n.setAttribute(k, v);
  });
  if (text !== undefined) n.textContent = text;
  return n;
}

export function say(ctx, text) {
  ctx.statusEl.textContent = text || "";
}

export function post(ctx, url, body) {
  return postWithRetry(url, body, {
    csrf: csrfToken(document.cookie),
    onWait: (reason, s) => say(ctx, fmt(ctx.T[reason], { s })),
  });
}
