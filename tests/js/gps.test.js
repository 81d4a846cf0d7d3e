// GPS fixes: quality against the party's threshold, what is shown, and when placing a point asks first
// (mapping/static/mapping/js/party-map/gps-fix.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_THRESHOLD_M, MAX_FIX_AGE_MS, fixQuality, isStale, parseThreshold, placeDecision, roundMetres,
} from "../../mapping/static/mapping/js/party-map/gps-fix.js";

test("the party's threshold is read from the page; missing or absurd values fall back to 20 m", () => {
  assert.equal(parseThreshold("35"), 35);
  assert.equal(parseThreshold(""), DEFAULT_THRESHOLD_M);
  assert.equal(parseThreshold(undefined), DEFAULT_THRESHOLD_M);
  assert.equal(parseThreshold("0"), DEFAULT_THRESHOLD_M);
  assert.equal(parseThreshold("100000"), DEFAULT_THRESHOLD_M);
  assert.equal(parseThreshold("abc"), DEFAULT_THRESHOLD_M);
});

test("a fix is good up to the threshold, poor beyond it or when its accuracy is unknown", () => {
  assert.equal(fixQuality(5, 20), "good");
  assert.equal(fixQuality(20, 20), "good");
  assert.equal(fixQuality(20.5, 20), "poor");
  assert.equal(fixQuality(NaN, 20), "poor");
  assert.equal(fixQuality(undefined, 20), "poor");
  assert.equal(fixQuality(-1, 20), "poor");
});

test("metres are whole, and rounded to ten beyond 100 m", () => {
  assert.equal(roundMetres(7.6), "8");
  assert.equal(roundMetres(0.2), "1");
  assert.equal(roundMetres(143), "140");
  assert.equal(roundMetres(Infinity), "?");
});

test("placing a point: no recent fix asks to locate, a poor fix asks to confirm, a good one places", () => {
  const now = 1_000_000;
  assert.equal(placeDecision(null, 20, now), "locate");
  assert.equal(placeDecision({ accuracy: 5, at: now - MAX_FIX_AGE_MS - 1 }, 20, now), "locate");
  assert.equal(placeDecision({ accuracy: 5, at: now - 1000 }, 20, now), "place");
  assert.equal(placeDecision({ accuracy: 45, at: now - 1000 }, 20, now), "confirm");
  assert.equal(placeDecision({ accuracy: 45, at: now }, 50, now), "place");
  assert.ok(isStale({ accuracy: 5 }, now));
});
