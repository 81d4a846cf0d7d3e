// Tapping a feature: a published one opens in the editor (residents) or read-only (agents), a
// pending one shows as my contribution. The selection is outlined in blue and kept in sight.
import { summary } from "../feature-info.js";
import { $, node, say } from "./page.js";
import { getJSON } from "./network.js";
import { knowPreset, loadPresets } from "./presets.js";
import { openSheet, unhighlight } from "./sheet.js";
import { openEditor } from "./editor.js";
import { contributionItem } from "./contributions.js";

const SELECTED = { color: "#1565c0", weight: 5, fillOpacity: 0.15, interactive: false };

// On a phone the sheet covers the lower part of the map: the map moves the feature into the part
// left visible.
function showSelected(ctx, feature, latlng) {
  const { el, map, sheet } = ctx;
  const L = window.L;
  unhighlight(ctx);
  ctx.highlight = L.geoJSON(feature, {
    renderer: ctx.pendingRenderer, style: () => SELECTED,
    pointToLayer: (f, ll) => L.circleMarker(ll, { ...SELECTED, radius: 11, fillOpacity: 0.5, renderer: ctx.pendingRenderer }),
  }).addTo(map);
  el.dataset.selected = feature.id;
  const where = feature.geometry.type === "Point" ? L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]) : latlng;
  const sheetTop = sheet.getBoundingClientRect().top - el.getBoundingClientRect().top;
  const sheetLeft = sheet.getBoundingClientRect().left - el.getBoundingClientRect().left;
  const p = map.latLngToContainerPoint(where);
  if (sheetLeft <= 0 && p.y > sheetTop - 32) map.panBy([0, p.y - sheetTop / 2], { animate: false });
}

export async function selectPublished(ctx, feature, latlng) {
  if (!ctx.canEdit) {
    showReadOnly(ctx, feature);
    showSelected(ctx, feature, latlng);
    return;
  }
  const { osm_type: type, osm_id: id } = feature.properties;
  const pend = ctx.pendingByElement.get(`${type}/${id}`);
  if (pend) return selectPending(ctx, pend);
  try {
    const data = await getJSON(`${ctx.el.dataset.elementsUrl}${type}/${id}/`);
    await loadPresets(ctx);
    knowPreset(ctx.presets, data.preset_detail);
    ctx.current = {
      action: "modify", type, id, version: data.version, pairs: Object.entries(data.tags), preset: data.preset, detail: data.preset_detail,
      kind: type === "node" ? "point" : data.closed ? "area" : "line", state: data,
      geometry: type === "node" ? { geometry: data.geometry } : type === "way" ? { nodes: data.nodes, closed: data.closed } : { members: data.members },
    };
    $("expert-mode").checked = !data.preset;
    openEditor(ctx);
    showSelected(ctx, feature, latlng);
  } catch {
    say(ctx, ctx.T.loadError);
  }
}

export function selectPending(ctx, feature) {
  const { T } = ctx;
  const p = feature.properties;
  const waiting = p.queued ? T.notSent : T.pending; // still in the outbox, or at the server
  openSheet(ctx, waiting, "contributions");
  const actionLabel = { create: T.actionCreate, modify: T.actionModify, delete: T.actionDelete }[p.action] || p.action;
  $("contribution-list").replaceChildren(contributionItem(T, { name: p.tags.name || "", action_label: actionLabel, status_label: waiting, after: { tags: p.tags } }));
  $("contributions-empty").hidden = true;
}

// Agents look without editing: the preset's name and fields, raw tags in expert mode.
async function showReadOnly(ctx, feature) {
  const { T } = ctx;
  const tags = feature.properties.tags || {};
  const strings = { unnamed: T.unnamed, expert: T.expert, yes: T.yes, no: T.no };
  openSheet(ctx, tags.name || T.unnamed, "contributions");
  const item = node("li", { class: "feature-info" });
  $("contribution-list").replaceChildren(item);
  $("contributions-empty").hidden = true;
  item.append(summary(null, tags, strings));
  const detail = await ctx.describe(feature);
  item.replaceChildren(summary(detail, tags, strings));
}
