// Pure helpers of "Locate me" (gps.js): how good a GPS fix is, what to say about it, and whether it
// may place a point. No browser globals, so tests/js/gps.test.js runs them in Node.

export const DEFAULT_THRESHOLD_M = 20;
// A fix older than this no longer says where the phone is (the resident walked on).
export const MAX_FIX_AGE_MS = 60 * 1000;

// The party's threshold from the page (data-gps-accuracy), or the default when missing or absurd.
export function parseThreshold(text) {
  const value = Number.parseInt(String(text ?? ""), 10);
  return Number.isFinite(value) && value >= 1 && value <= 500 ? value : DEFAULT_THRESHOLD_M;
}

// "good" or "poor" (an accuracy radius in metres, worse than the threshold, or unknown).
export function fixQuality(accuracy, threshold) {
  return Number.isFinite(accuracy) && accuracy >= 0 && accuracy <= threshold ? "good" : "poor";
}

// Metres as a resident reads them: whole metres, no false precision beyond 100 m.
export function roundMetres(accuracy) {
  if (!Number.isFinite(accuracy)) return "?";
  const m = Math.max(1, Math.round(accuracy));
  return String(m >= 100 ? Math.round(m / 10) * 10 : m);
}

export function isStale(fix, now) {
  return !fix || !Number.isFinite(fix.at) || now - fix.at > MAX_FIX_AGE_MS;
}

// What placing a point at the fix needs: "locate" (no recent fix), "confirm" (poor) or "place".
export function placeDecision(fix, threshold, now) {
  if (isStale(fix, now)) return "locate";
  return fixQuality(fix.accuracy, threshold) === "good" ? "place" : "confirm";
}
