// GPS that helps: "Locate me" follows the position (Leaflet's locate API, watching) with its accuracy
// circle; a fix less precise than the party's threshold is shown as poor, and "place a point here"
// then asks first. Pure client side: it works with no network. Its state is ctx.gps.
import { $, fmt, say } from "./page.js";
import { fixQuality, parseThreshold, placeDecision, roundMetres } from "./gps-fix.js";
import { placePoint } from "./drawing.js";
import { pointGeometry } from "./geometry.js";
import { showDraft } from "./sheet.js";

const STYLE = {
  good: { color: "#1565c0", fillColor: "#1565c0" },
  poor: { color: "#e65100", fillColor: "#ffb74d" },
};

function showFix(ctx) {
  const { gps, T } = ctx;
  const { fix } = gps;
  const quality = fixQuality(fix.accuracy, gps.threshold);
  const ll = window.L.latLng(fix.lat, fix.lng);
  const style = STYLE[quality];
  if (!gps.circle) {
    const common = { renderer: gps.renderer, interactive: false };
    gps.circle = window.L.circle(ll, { ...common, radius: fix.accuracy, weight: 2, fillOpacity: 0.15, className: "gps-accuracy", ...style }).addTo(ctx.map);
    gps.dot = window.L.circleMarker(ll, { ...common, radius: 8, color: "#fff", weight: 3, fillOpacity: 1, className: "gps-position", fillColor: style.color }).addTo(ctx.map);
  } else {
    gps.circle.setLatLng(ll).setRadius(fix.accuracy).setStyle(style);
    gps.dot.setLatLng(ll).setStyle({ fillColor: style.color });
  }
  const panel = $("gps-panel");
  panel.hidden = false;
  panel.dataset.quality = quality;
  const values = { m: roundMetres(fix.accuracy), max: gps.threshold };
  $("gps-text").textContent = fmt(quality === "good" ? T.gpsGood : T.gpsPoor, values);
  if (gps.follow) ctx.map.setView(ll, Math.max(ctx.map.getZoom(), 18), { animate: !gps.first });
  gps.first = false;
  say(ctx, ctx.areaLayer.getBounds().contains(ll) ? "" : T.outside);
}

function setButton(on) {
  const button = document.querySelector('#toolbar [data-action="locate"]');
  if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
}

function stop(ctx) {
  const { gps, map } = ctx;
  map.stopLocate();
  gps.on = false;
  if (gps.circle) map.removeLayer(gps.circle);
  if (gps.dot) map.removeLayer(gps.dot);
  gps.circle = gps.dot = gps.fix = null;
  $("gps-panel").hidden = true;
  $("gps-confirm").hidden = true;
  setButton(false);
  say(ctx, "");
}

function start(ctx) {
  const { gps, T } = ctx;
  if (!navigator.geolocation) return say(ctx, T.locateError);
  Object.assign(gps, { on: true, follow: true, first: true });
  setButton(true);
  say(ctx, T.locating);
  ctx.map.locate({ watch: true, setView: false, enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
}

// The toolbar's "Locate me": starts following; when following, stops; when the resident had moved the
// map away, brings the map back to the position and follows again.
export function toggleLocate(ctx) {
  const { gps } = ctx;
  if (!gps.on) return start(ctx);
  if (!gps.follow && gps.fix) {
    gps.follow = true;
    return showFix(ctx);
  }
  stop(ctx);
}

// The new point at the fix itself (not the map's centre, a pixel away), its draft drawn there.
async function place(ctx) {
  const { fix } = ctx.gps;
  $("gps-confirm").hidden = true;
  ctx.map.setView([fix.lat, fix.lng], Math.max(ctx.map.getZoom(), 18), { animate: false });
  ctx.gps.follow = false;
  await placePoint(ctx);
  if (ctx.current && ctx.current.action === "create" && ctx.current.type === "node") {
    ctx.current.geometry = { geometry: pointGeometry(fix) };
    showDraft(ctx);
  }
}

// "Place a point here": at once with a good fix; a poor one asks first; none yet waits for one.
export function placeAtPosition(ctx) {
  const { gps, T } = ctx;
  const decision = placeDecision(gps.fix, gps.threshold, Date.now());
  if (decision === "locate") {
    if (!gps.on) start(ctx);
    return say(ctx, T.gpsWaiting);
  }
  if (decision === "place") return place(ctx);
  $("gps-confirm-text").textContent = fmt(T.gpsConfirm, { m: roundMetres(gps.fix.accuracy), max: gps.threshold });
  $("gps-confirm").hidden = false;
  $("gps-confirm").querySelector('[data-gps="place-anyway"]').focus();
}

export function wireGps(ctx) {
  ctx.gps = {
    threshold: parseThreshold(ctx.el.dataset.gpsAccuracy), on: false, follow: true, first: true, fix: null, circle: null, dot: null,
    renderer: window.L.svg({ padding: 0.5 }), // SVG: the circle and its dot move together while the map pans
  };
  const { map } = ctx;
  map.on("locationfound", (e) => {
    if (!ctx.gps.on) return;
    ctx.gps.fix = { lat: e.latlng.lat, lng: e.latlng.lng, accuracy: e.accuracy, at: Date.now() };
    showFix(ctx);
  });
  map.on("locationerror", () => {
    if (ctx.gps.on) say(ctx, ctx.T.locateError);
  });
  map.on("dragstart", () => { ctx.gps.follow = false; }); // the resident looks elsewhere: stop following
  const panel = $("gps-panel");
  const on = (name, fn) => panel.querySelector(`[data-gps="${name}"]`)?.addEventListener("click", () => fn(ctx));
  on("place", placeAtPosition);
  on("place-anyway", place);
  on("wait", () => { $("gps-confirm").hidden = true; say(ctx, ctx.T.gpsWaiting); });
}
