// The resident mapping page: published features + my pending changes, add / change / move / reshape /
// delete with presets, undo, my contributions, conflict choices. Everything shown from the data is set
// with textContent (tags are text, never HTML). Strings come translated from #party-map-strings.
(function () {
  "use strict";
  const el = document.getElementById("party-map");
  if (!el) return;
  const T = document.getElementById("party-map-strings").dataset;
  const canEdit = el.dataset.canEdit === "true";
  const $ = (id) => document.getElementById(id);
  const statusEl = $("map-status");
  const sheet = $("sheet");
  const panels = ["picker", "editor", "conflict", "contributions"];

  // ---------- small helpers ----------
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, (_m, k) => String(values[k]));
  }
  function node(tag, attrs, text) {
    const n = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "dataset") Object.assign(n.dataset, v);
      else if (v !== undefined && v !== null) n.setAttribute(k, v);
    });
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function say(text) {
    statusEl.textContent = text || "";
  }
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // POST with an idempotency key; retries 5xx / network errors with backoff and 429 after Retry-After.
  async function post(url, body) {
    const headers = { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() };
    let delay = 1000;
    for (let attempt = 0; attempt < 6; attempt++) {
      let resp;
      try {
        resp = await fetch(url, { method: "POST", headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
      } catch (err) {
        resp = null;
      }
      if (resp && resp.status === 429) {
        const wait = Math.max(1, parseInt(resp.headers.get("Retry-After") || "5", 10));
        say(fmt(T.rateLimited, { s: wait }));
        await sleep(wait * 1000);
        continue;
      }
      if (!resp || resp.status >= 500) {
        if (attempt === 5) break;
        say(fmt(T.retrying, { s: Math.round(delay / 1000) }));
        await sleep(delay);
        delay = Math.min(delay * 2, 16000);
        continue;
      }
      let data = null;
      try {
        data = await resp.json();
      } catch (err) {
        data = null;
      }
      return { status: resp.status, data };
    }
    return { status: 0, data: null };
  }
  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!resp.ok) throw new Error(String(resp.status));
    return resp.json();
  }

  // ---------- the map ----------
  const map = L.map(el, { zoomControl: true, preferCanvas: true, maxZoom: 20 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("© OpenStreetMap contributors, ODbL");
  Cartoparty.baseLayer({ maxZoom: 20, maxNativeZoom: 19 }).addTo(map);
  const area = JSON.parse($("party-area").textContent);
  const areaLayer = L.geoJSON(area, { style: { color: "#00695c", weight: 2, fill: false, dashArray: "6 6" }, interactive: false }).addTo(map);
  // #zoom/lat/lon in the address shows a place (shareable; kept up to date while panning).
  function viewFromHash() {
    const hash = (location.hash || "").replace("#", "").split("/").map(Number);
    if (hash.length !== 3 || !hash.every(isFinite)) return false;
    map.setView([hash[1], hash[2]], hash[0], { animate: false });
    return true;
  }
  if (!viewFromHash()) map.fitBounds(areaLayer.getBounds());
  window.addEventListener("hashchange", viewFromHash);

  const STYLES = Cartoparty.featureStyles;
  const PENDING = { color: "#ff6f00", weight: 4, dashArray: "6 4", fillColor: "#ffca28", fillOpacity: 0.5 };
  const pendingRenderer = L.svg({ padding: 0.2 });
  let pendingByElement = new Map();

  // Published features do not catch events themselves: a tap selects what is under the finger among
  // what is drawn (selection.js, as iD does), see the map's click handler below.
  let drawn = [];
  const published = L.geoJSON(null, {
    interactive: false,
    style: (f) => Cartoparty.selection.styleFor(f, STYLES),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 8, ...(STYLES[f.properties.category] || STYLES.poi), interactive: false }),
  }).addTo(map);
  const pending = L.geoJSON(null, {
    renderer: pendingRenderer,
    style: () => PENDING,
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 10, renderer: pendingRenderer, ...PENDING, color: "#e65100", weight: 3, dashArray: null }),
    onEachFeature: (f, layer) => {
      layer.on("click", (e) => {
        L.DomEvent.stop(e);
        if (el.dataset.mode) mapTap(e.latlng);
        else selectPending(f);
      });
      layer.on("add", () => {
        const path = layer.getElement && layer.getElement();
        if (path) path.setAttribute("data-pending", f.properties.action);
      });
    },
  }).addTo(map);

  // Published data: the town's shared map-data tiles (feature-tiles.js), loaded as the view moves.
  // My pending changes: one small request for the whole party area, made again only after a save or
  // an undo (the published data does not change then: changes wait for review).
  let tilesState = "loading";
  let pendingState = "loading";
  function showState() {
    // Loading messages never hide a message the resident has not read yet (saved, undone...).
    const quiet = statusEl.textContent && ![T.loading, T.empty, T.zoomIn, T.loadError].includes(statusEl.textContent);
    if (tilesState === "loading" || pendingState === "loading") {
      el.dataset.state = "loading";
      if (!quiet) say(T.loading);
      return;
    }
    const state = tilesState === "zoom-in" ? "zoom-in" : tilesState === "error" || pendingState === "error" ? "error" : "loaded";
    el.dataset.state = state;
    if (quiet) return;
    if (state === "zoom-in") say(T.zoomIn);
    else if (state === "error") say(T.loadError);
    else say(Number(el.dataset.features) || pendingByElement.size ? "" : T.empty);
  }
  const tiles = Cartoparty.featureTiles(
    map,
    el.dataset.tilesUrl,
    (features, state) => {
      published.clearLayers();
      drawn = Cartoparty.selection.drawOrder(features || []);
      published.addData({ type: "FeatureCollection", features: drawn });
      el.dataset.features = String(features ? features.length : 0);
      tilesState = state;
      showState();
    },
    () => {
      tilesState = "loading";
      showState();
    },
  );

  const ab = areaLayer.getBounds();
  const areaBbox = [
    Math.floor(ab.getWest() * 1e6) / 1e6, Math.floor(ab.getSouth() * 1e6) / 1e6,
    Math.ceil(ab.getEast() * 1e6) / 1e6, Math.ceil(ab.getNorth() * 1e6) / 1e6,
  ].join(",");
  let pendingController = null;
  async function loadPending() {
    if (pendingController) pendingController.abort();
    pendingController = new AbortController();
    pendingState = "loading";
    showState();
    try {
      const resp = await fetch(`${el.dataset.featuresUrl}?layers=pending&bbox=${areaBbox}`, {
        signal: pendingController.signal, headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!resp.ok) throw new Error(String(resp.status));
      const data = await resp.json();
      pending.clearLayers();
      // Newest first: keep only the latest pending change of each element.
      pendingByElement = new Map();
      data.pending.features.forEach((f) => {
        const key = `${f.properties.osm_type}/${f.properties.osm_id}`;
        if (!pendingByElement.has(key)) pendingByElement.set(key, f);
      });
      pending.addData({ type: "FeatureCollection", features: Array.from(pendingByElement.values()) });
      el.dataset.pending = String(pendingByElement.size);
      pendingState = "loaded";
    } catch (err) {
      if (err.name === "AbortError") return;
      pendingState = "error";
    }
    showState();
  }
  map.on("moveend", () => {
    history.replaceState(null, "", `#${map.getZoom()}/${map.getCenter().lat.toFixed(6)}/${map.getCenter().lng.toFixed(6)}`);
  });

  // ---------- presets ----------
  let presetData = null;
  const presetById = new Map();
  async function presets() {
    if (!presetData) {
      presetData = await getJSON(el.dataset.presetsUrl);
      presetData.groups.forEach((g) => g.presets.forEach((p) => presetById.set(p.id, p)));
    }
    return presetData;
  }
  // A preset the party's set does not offer, named by the server for a tapped feature
  // (mapping.presets.describe): the editor shows its name and fields like the set's own.
  function knowPreset(detail) {
    if (!detail) return;
    if (!presetById.has(detail.id)) presetById.set(detail.id, { ...detail, icon: "" });
    Object.entries(detail.field_defs).forEach(([fid, field]) => {
      if (!presetData.fields[fid]) presetData.fields[fid] = field;
    });
  }
  function fold(s) {
    return (s || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  // ---------- the sheet ----------
  function openSheet(title, panel) {
    $("sheet-title").textContent = title;
    panels.forEach((p) => { $(p).hidden = p !== panel; });
    clearErrors();
    sheet.hidden = false;
    document.body.classList.add("sheet-open");
    sheet.dataset.panel = panel;
    // Screen readers start at the sheet; no input is focused, so no keyboard pops up on phones.
    if (panel !== "picker") sheet.focus({ preventScroll: true });
  }
  // The shape being created, shown while the resident picks a preset and fills its fields.
  let draft = null;
  function showDraft() {
    if (draft) map.removeLayer(draft);
    draft = null;
    if (!current || current.action !== "create") return;
    const opts = { ...PENDING, renderer: pendingRenderer, interactive: false };
    if (current.type === "node") {
      const [lon, lat] = current.geometry.geometry.coordinates;
      draft = L.circleMarker([lat, lon], { ...opts, radius: 10, dashArray: null });
    } else {
      const lls = current.geometry.nodes.map((n) => [n[2], n[1]]);
      draft = current.geometry.closed ? L.polygon(lls, opts) : L.polyline(lls, opts);
    }
    draft.addTo(map);
  }
  function closeSheet() {
    unhighlight();
    if (draft) map.removeLayer(draft);
    draft = null;
    sheet.hidden = true;
    document.body.classList.remove("sheet-open");
    stopGeometryEdit(true);
    current = null;
  }
  function clearErrors() {
    $("sheet-error").hidden = true;
    $("sheet-error").textContent = "";
    sheet.querySelectorAll(".field-error.inline").forEach((n) => n.remove());
    sheet.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  }
  function sheetError(text) {
    $("sheet-error").textContent = text;
    $("sheet-error").hidden = false;
  }

  // The feature being edited: {action, type, id, version, pairs, preset, geometry (payload part), layer}
  let current = null;

  // ----- preset picker -----
  async function openPicker(geometryKind) {
    const data = await presets();
    openSheet(T.choosePreset, "picker");
    const search = $("preset-search");
    search.value = "";
    const list = $("preset-list");
    function render() {
      const q = fold(search.value.trim());
      list.replaceChildren();
      let count = 0;
      data.groups.forEach((g) => {
        const items = g.presets.filter((p) => p.geometry.includes(geometryKind) &&
          (!q || fold(p.name).includes(q) || p.terms.some((t) => fold(t).includes(q)) ||
           Object.entries(p.tags).some(([k, v]) => fold(`${k}=${v}`.replace(/_/g, " ")).includes(q))));
        if (!items.length) return;
        const li = node("li", { class: "preset-group" });
        li.append(node("h3", {}, g.name));
        const ul = node("ul", {});
        items.forEach((p) => {
          const b = node("button", { type: "button", class: "preset", dataset: { preset: p.id } });
          b.append(node("span", { class: "preset-icon", "aria-hidden": "true" }, p.icon), node("span", {}, p.name));
          b.addEventListener("click", () => choosePreset(p));
          const item = node("li", {});
          item.append(b);
          ul.append(item);
          count++;
        });
        li.append(ul);
        list.append(li);
      });
      const other = node("button", { type: "button", class: "preset secondary" });
      other.append(node("span", { class: "preset-icon", "aria-hidden": "true" }, "✎"), node("span", {}, T.other));
      other.addEventListener("click", () => choosePreset(null));
      const li = node("li", { class: "preset-group" });
      li.append(other);
      list.append(li);
      $("preset-empty").hidden = count > 0;
    }
    search.oninput = render;
    render();
    search.focus({ preventScroll: true });
  }

  function choosePreset(preset) {
    if (!current) return;
    if (preset) {
      // Replace the previous preset's identifying tags with the new one's ("*" means any value: yes).
      const old = current.preset ? presetById.get(current.preset) : null;
      if (old) Object.keys(old.add_tags).forEach((k) => removeTag(k));
      Object.entries(preset.add_tags).forEach(([k, v]) => setTag(k, v === "*" ? "yes" : v));
      current.preset = preset.id;
    } else {
      current.preset = "";
      $("expert-mode").checked = true;
    }
    openEditor();
  }

  // ----- tags as [key, value] pairs (duplicates allowed while typing; the server names them) -----
  function getTag(k) {
    const p = current.pairs.find((x) => x[0] === k);
    return p ? p[1] : "";
  }
  function setTag(k, v) {
    const p = current.pairs.find((x) => x[0] === k);
    if (v === "" || v === null || v === undefined) return removeTag(k);
    if (p) p[1] = v;
    else current.pairs.push([k, v]);
  }
  function removeTag(k) {
    current.pairs = current.pairs.filter((x) => x[0] !== k);
  }

  // ----- editor -----
  function fieldControl(fid, field) {
    const id = `field-${fid.replace(/[^a-z0-9]/gi, "-")}`;
    const wrap = node("div", { class: "field", dataset: { key: field.key } });
    wrap.append(node("label", { for: id }, field.label));
    let input;
    if (field.type === "combo" || field.type === "check") {
      input = node("select", { id });
      const options = field.type === "check"
        ? [{ value: "yes", label: T.yes }, { value: "no", label: T.no }]
        : field.options || [];
      input.append(node("option", { value: "" }, T.unset));
      const value = getTag(field.key);
      options.forEach((o) => input.append(node("option", { value: o.value }, o.label)));
      if (value && !options.some((o) => o.value === value)) input.append(node("option", { value }, value));
      input.value = value;
    } else if (field.type === "textarea") {
      input = node("textarea", { id, rows: "3", "data-max-length": "255" });
      input.value = getTag(field.key);
    } else {
      const type = { number: "text", tel: "tel", url: "url", email: "email" }[field.type] || "text";
      input = node("input", { id, type, "data-max-length": "255", inputmode: field.type === "number" ? "decimal" : null, placeholder: field.placeholder || null });
      input.value = getTag(field.key);
    }
    input.name = field.key;
    input.addEventListener("change", () => { setTag(field.key, input.value.trim()); renderTagRows(); });
    wrap.append(input);
    return wrap;
  }

  function renderFields() {
    const box = $("editor-fields");
    box.replaceChildren();
    const preset = current.preset ? presetById.get(current.preset) : null;
    // A tapped feature's own description adds the "more fields" it has values for.
    const detail = current.detail && preset && current.detail.id === preset.id ? current.detail : null;
    const fields = detail ? detail.fields : preset ? preset.fields : [];
    fields.forEach((fid) => {
      const field = presetData.fields[fid];
      if (field) box.append(fieldControl(fid, field));
    });
    $("editor-no-fields").hidden = fields.length > 0;
    $("editor-preset").textContent = preset ? `${preset.icon} ${preset.name}`.trim() : T.other;
  }

  function renderTagRows() {
    const rows = $("tag-rows");
    rows.replaceChildren();
    current.pairs.forEach((pair, i) => {
      const row = node("div", { class: "tag-row", dataset: { index: String(i), key: pair[0] } });
      const k = node("input", { type: "text", "aria-label": T.key, "data-max-length": "255", class: "tag-key", autocapitalize: "off" });
      const v = node("input", { type: "text", "aria-label": T.value, "data-max-length": "255", class: "tag-value" });
      k.value = pair[0];
      v.value = pair[1];
      k.addEventListener("change", () => { pair[0] = k.value.trim(); row.dataset.key = pair[0]; renderFields(); });
      v.addEventListener("change", () => { pair[1] = v.value; renderFields(); });
      const rm = node("button", { type: "button", class: "secondary remove-tag", "aria-label": T.removeTag, title: T.removeTag }, "✕");
      rm.addEventListener("click", () => { current.pairs.splice(i, 1); renderTagRows(); renderFields(); });
      row.append(k, node("span", { "aria-hidden": "true" }, "="), v, rm);
      rows.append(row);
    });
  }

  function openEditor() {
    openSheet(current.action === "create" ? T.newFeature : getTag("name") || T.editFeature, "editor");
    $("expert").hidden = !$("expert-mode").checked;
    $("editor-pending").hidden = !current.pendingNote;
    $("delete-button").hidden = current.action === "create";
    $("geometry-button").hidden = current.action === "create" || current.type === "relation";
    renderFields();
    renderTagRows();
  }
  $("expert-mode").addEventListener("change", () => { $("expert").hidden = !$("expert-mode").checked; });
  sheet.querySelector('[data-action="add-tag"]').addEventListener("click", () => {
    current.pairs.push(["", ""]);
    renderTagRows();
    const keys = $("tag-rows").querySelectorAll(".tag-key");
    keys[keys.length - 1].focus();
  });
  sheet.querySelector('[data-action="change-preset"]').addEventListener("click", () => openPicker(current.kind));

  // ----- save -----
  function payload() {
    const tags = current.pairs.filter((p) => p[0] !== "" || p[1] !== "").filter((p) => p[1] !== "" || p[0] === "");
    return { tags, ...current.geometry };
  }

  async function submit(body) {
    clearErrors();
    const button = $("save-button");
    button.disabled = true;
    say(T.saving);
    try {
      const { status, data } = await post(el.dataset.editsUrl, body);
      if (status === 201 || status === 200) {
        say(body.action === "delete" ? T.deleted : T.saved);
        stopGeometryEdit(false);
        closeSheet();
        loadPending();
        return;
      }
      if (status === 400 && data) return showErrors(data);
      if (status === 409 && data) return showConflict(body, data);
      sheetError((data && data.detail) || T.failed);
      say("");
    } finally {
      button.disabled = false;
    }
  }

  function showErrors(errors) {
    say("");
    const general = [];
    Object.entries(errors).forEach(([field, messages]) => {
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      let target = null;
      if (field.startsWith("tags.")) {
        const key = field.slice(5);
        target = Array.from(sheet.querySelectorAll(".field, .tag-row")).filter((n) => n.dataset.key === key);
        if (!target.length) {
          // Not a preset field: show it in expert mode, next to the tag.
          $("expert-mode").checked = true;
          $("expert").hidden = false;
          target = Array.from(sheet.querySelectorAll(".tag-row")).filter((n) => n.dataset.key === key);
        }
      }
      if (target && target.length) {
        target.forEach((t) => {
          const err = node("p", { class: "field-error inline", role: "alert" }, text);
          t.append(err);
          t.querySelectorAll("input, select, textarea").forEach((i) => i.setAttribute("aria-invalid", "true"));
        });
      } else {
        general.push(text);
      }
    });
    if (general.length) sheetError(general.join(" "));
  }

  // ----- conflicts (409) -----
  function showConflict(body, data) {
    say("");
    if (!data.tags) {
      // Moved, reshaped or deleted meanwhile: reload the feature and let the resident look again.
      sheetError(T.conflictGone);
      if (data.current && current) {
        current.version = data.current_version;
        current.pairs = Object.entries(data.current.tags);
        renderFields();
        renderTagRows();
      }
      return;
    }
    const { keys, base, mine, theirs } = data.tags;
    openSheet(T.conflictTitle, "conflict");
    const rows = $("conflict-rows");
    rows.replaceChildren();
    keys.forEach((key, i) => {
      const fs = node("fieldset", { class: "conflict-row" });
      fs.append(node("legend", {}, key));
      [["mine", mine[key]], ["theirs", theirs[key]]].forEach(([side, value]) => {
        const id = `conflict-${i}-${side}`;
        const input = node("input", { type: "radio", name: `conflict-${i}`, id, value: side });
        if (side === "mine") input.checked = true;
        const label = node("label", { for: id });
        label.append(node("strong", {}, `${side === "mine" ? T.mine : T.theirs}: `), node("span", {}, value === undefined ? T.none : value));
        const line = node("div", { class: "choice" });
        line.append(input, label);
        fs.append(line);
      });
      rows.append(fs);
    });
    const resolve = sheet.querySelector('[data-action="resolve-conflict"]');
    resolve.onclick = () => {
      // Their version, plus my other changes, plus my choice for each conflicting key.
      const result = { ...theirs };
      Object.keys({ ...base, ...mine }).forEach((k) => {
        if (keys.includes(k) || base[k] === mine[k]) return;
        if (mine[k] === undefined) delete result[k];
        else result[k] = mine[k];
      });
      keys.forEach((k, i) => {
        const choice = rows.querySelector(`input[name="conflict-${i}"]:checked`).value;
        const value = choice === "mine" ? mine[k] : theirs[k];
        if (value === undefined) delete result[k];
        else result[k] = value;
      });
      current.pairs = Object.entries(result);
      current.version = data.current_version;
      submit({ ...body, base_version: data.current_version, after: { ...body.after, tags: Object.entries(result) }, idempotency_key: newKey() });
    };
  }

  $("editor").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!current) return;
    sheet.querySelectorAll("#editor input, #editor select, #editor textarea").forEach((i) => i.dispatchEvent(new Event("change")));
    submit({
      element_type: current.type,
      element_id: current.action === "create" ? null : current.id,
      action: current.action,
      base_version: current.action === "create" ? null : current.version,
      after: payload(),
      preset: current.preset || "",
      idempotency_key: newKey(),
    });
  });
  sheet.querySelector('[data-action="delete-feature"]').addEventListener("click", () => {
    if (!current || !window.confirm(T.confirmDelete)) return;
    submit({ element_type: current.type, element_id: current.id, action: "delete", base_version: current.version, after: null, idempotency_key: newKey() });
  });
  sheet.querySelector('[data-action="close-sheet"]').addEventListener("click", closeSheet);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !sheet.hidden) closeSheet(); });

  // ---------- selecting ----------
  // The selected feature, outlined in blue, and kept in sight: on a phone the sheet covers the lower
  // part of the map, so the map moves it into the part left visible.
  const SELECTED = { color: "#1565c0", weight: 5, fillOpacity: 0.15, interactive: false };
  let highlight = null;
  function unhighlight() {
    if (highlight) map.removeLayer(highlight);
    highlight = null;
    delete el.dataset.selected;
  }
  function showSelected(feature, latlng) {
    unhighlight();
    highlight = L.geoJSON(feature, {
      renderer: pendingRenderer, style: () => SELECTED,
      pointToLayer: (f, ll) => L.circleMarker(ll, { ...SELECTED, radius: 11, fillOpacity: 0.5, renderer: pendingRenderer }),
    }).addTo(map);
    el.dataset.selected = feature.id;
    const where = feature.geometry.type === "Point" ? L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]) : latlng;
    const sheetTop = sheet.getBoundingClientRect().top - el.getBoundingClientRect().top;
    const sheetLeft = sheet.getBoundingClientRect().left - el.getBoundingClientRect().left;
    const p = map.latLngToContainerPoint(where);
    if (sheetLeft <= 0 && p.y > sheetTop - 32) map.panBy([0, p.y - sheetTop / 2], { animate: false });
  }

  async function selectPublished(feature, latlng) {
    if (!canEdit) {
      showReadOnly(feature);
      showSelected(feature, latlng);
      return;
    }
    const { osm_type: type, osm_id: id } = feature.properties;
    const pend = pendingByElement.get(`${type}/${id}`);
    if (pend) return selectPending(pend);
    try {
      const data = await getJSON(`${el.dataset.elementsUrl}${type}/${id}/`);
      await presets();
      knowPreset(data.preset_detail);
      current = {
        action: "modify", type, id, version: data.version, pairs: Object.entries(data.tags), preset: data.preset, detail: data.preset_detail,
        kind: type === "node" ? "point" : data.closed ? "area" : "line", state: data,
        geometry: type === "node" ? { geometry: data.geometry } : type === "way" ? { nodes: data.nodes, closed: data.closed } : { members: data.members },
      };
      $("expert-mode").checked = !data.preset;
      openEditor();
      showSelected(feature, latlng);
    } catch (err) {
      say(T.loadError);
    }
  }

  function selectPending(feature) {
    const p = feature.properties;
    openSheet(T.pending, "contributions");
    const list = $("contribution-list");
    list.replaceChildren(contributionItem({ name: p.tags.name || "", action_label: { create: T.actionCreate, modify: T.actionModify, delete: T.actionDelete }[p.action] || p.action, status_label: T.pending, after: { tags: p.tags } }));
    $("contributions-empty").hidden = true;
  }

  // Agents look without editing: the preset's name and fields, raw tags in expert mode.
  async function showReadOnly(feature) {
    const tags = feature.properties.tags || {};
    const strings = { unnamed: T.unnamed, expert: T.expert, yes: T.yes, no: T.no };
    openSheet(tags.name || T.unnamed, "contributions");
    const list = $("contribution-list");
    const item = node("li", { class: "feature-info" });
    list.replaceChildren(item);
    $("contributions-empty").hidden = true;
    item.append(Cartoparty.featureInfo.summary(null, tags, strings));
    const detail = await Cartoparty.featureInfo.describe(el.dataset.describeUrl, feature);
    item.replaceChildren(Cartoparty.featureInfo.summary(detail, tags, strings));
  }

  // ---------- drawing new features and editing shapes ----------
  const drawbar = $("drawbar");
  let editLayer = null;
  function showDrawbar(hint, buttons) {
    $("drawbar-hint").textContent = hint;
    drawbar.querySelectorAll("button").forEach((b) => { b.hidden = !buttons.includes(b.dataset.action); });
    drawbar.hidden = false;
    $("toolbar").hidden = true;
  }
  function hideDrawbar() {
    drawbar.hidden = true;
    $("toolbar").hidden = false;
    $("crosshair").hidden = true;
  }

  function startPoint() {
    closeSheet();
    $("crosshair").hidden = false;
    showDrawbar(T.placeHint, ["place-point", "cancel-draw"]);
    el.dataset.mode = "add-point";
  }
  // Lines and areas: each tap on the map adds a vertex (no double-tap needed, so it works one-handed).
  let sketch = null;
  function startShape(kind) {
    closeSheet();
    map.doubleClickZoom.disable();
    sketch = { kind, latlngs: [], layer: null, vertices: L.layerGroup().addTo(map) };
    showDrawbar(kind === "line" ? T.lineHint : T.areaHint, ["remove-vertex", "finish-shape", "cancel-draw"]);
    el.dataset.mode = `add-${kind}`;
  }
  function redrawSketch() {
    if (sketch.layer) map.removeLayer(sketch.layer);
    sketch.vertices.clearLayers();
    const opts = { ...PENDING, renderer: pendingRenderer, interactive: false };
    sketch.layer = (sketch.kind === "area" ? L.polygon(sketch.latlngs, opts) : L.polyline(sketch.latlngs, opts)).addTo(map);
    sketch.latlngs.forEach((ll) => L.circleMarker(ll, { radius: 5, color: "#e65100", fillColor: "#fff", fillOpacity: 1, renderer: pendingRenderer, interactive: false }).addTo(sketch.vertices));
    el.dataset.vertices = String(sketch.latlngs.length);
  }
  function endSketch() {
    if (!sketch) return;
    if (sketch.layer) map.removeLayer(sketch.layer);
    map.removeLayer(sketch.vertices);
    sketch = null;
    map.doubleClickZoom.enable();
  }
  async function finishShape() {
    if (!sketch) return;
    if (sketch.latlngs.length < (sketch.kind === "area" ? 3 : 2)) return say(T.tooFew);
    const { kind, latlngs } = sketch;
    endSketch();
    hideDrawbar();
    delete el.dataset.mode;
    await presets();
    current = {
      action: "create", type: "way", id: null, version: null, pairs: [], preset: "", kind,
      geometry: { nodes: latlngs.map((ll) => [null, +ll.lng.toFixed(7), +ll.lat.toFixed(7)]), closed: kind === "area" },
    };
    $("expert-mode").checked = false;
    showDraft();
    openPicker(kind);
  }
  function cancelDraw() {
    endSketch();
    stopGeometryEdit(true);
    hideDrawbar();
    delete el.dataset.mode;
  }

  async function placePoint() {
    const c = map.getCenter();
    hideDrawbar();
    delete el.dataset.mode;
    await presets();
    current = {
      action: "create", type: "node", id: null, version: null, pairs: [], preset: "", kind: "point",
      geometry: { geometry: { type: "Point", coordinates: [+c.lng.toFixed(7), +c.lat.toFixed(7)] } },
    };
    $("expert-mode").checked = false;
    showDraft();
    openPicker("point");
  }

  // Move a point or reshape a way. Each vertex LatLng carries its node id, so moved vertices keep
  // their OSM identity and new vertices (Leaflet.draw's middle handles) are sent as null: new nodes.
  function startGeometryEdit() {
    if (!current || current.action === "create") return;
    sheet.hidden = true;
    if (current.type === "node") {
      const [lon, lat] = current.geometry.geometry.coordinates;
      editLayer = L.marker([lat, lon], { draggable: true, autoPan: true }).addTo(map);
    } else {
      const lls = current.geometry.nodes.map(([id, lon, lat]) => { const ll = L.latLng(lat, lon); ll.osmId = id; return ll; });
      editLayer = (current.geometry.closed ? L.polygon(lls, { ...PENDING, renderer: L.svg() }) : L.polyline(lls, { ...PENDING, renderer: L.svg() })).addTo(map);
      editLayer.editing.enable();
    }
    showDrawbar(T.moveHint, ["finish-geometry", "cancel-draw"]);
    el.dataset.mode = "reshape";
  }
  function stopGeometryEdit(discard) {
    if (!editLayer) return;
    if (!discard && current) {
      if (current.type === "node") {
        const ll = editLayer.getLatLng();
        current.geometry = { geometry: { type: "Point", coordinates: [+ll.lng.toFixed(7), +ll.lat.toFixed(7)] } };
      } else {
        let lls = editLayer.getLatLngs();
        if (current.geometry.closed) lls = lls[0];
        current.geometry = { nodes: lls.map((ll) => [ll.osmId === undefined ? null : ll.osmId, +ll.lng.toFixed(7), +ll.lat.toFixed(7)]), closed: current.geometry.closed };
      }
    }
    if (editLayer.editing && editLayer.editing.enabled()) editLayer.editing.disable();
    map.removeLayer(editLayer);
    editLayer = null;
  }
  function finishGeometry() {
    stopGeometryEdit(false);
    hideDrawbar();
    delete el.dataset.mode;
    openEditor();
  }

  // ---------- undo, contributions, locate ----------
  async function undo() {
    const { status } = await post(el.dataset.undoUrl, null);
    say(status === 200 ? T.undone : T.nothingToUndo);
    loadPending();
    if (!sheet.hidden && sheet.dataset.panel === "contributions") showContributions();
  }

  function contributionItem(rev) {
    const li = node("li", { class: `contribution status-${rev.status || "pending"}` });
    const title = node("strong", {}, rev.name || (rev.after && rev.after.tags && rev.after.tags.name) || rev.preset_name || T.unnamed);
    li.append(title, node("span", { class: "action" }, ` · ${rev.action_label}`), node("span", { class: "badge" }, rev.outcome || rev.status_label));
    if (rev.review_reason) li.append(node("p", { class: "reason" }, `${T.reason} ${rev.review_reason}`));
    return li;
  }
  async function showContributions() {
    openSheet(T.myContributions, "contributions");
    const list = $("contribution-list");
    list.replaceChildren();
    try {
      const [revs] = await Promise.all([getJSON(el.dataset.contributionsUrl), presets()]);
      revs.forEach((r) => {
        const preset = presetById.get(r.preset);
        list.append(contributionItem({ ...r, preset_name: preset ? preset.name : "" }));
      });
      $("contributions-empty").hidden = revs.length > 0;
    } catch (err) {
      sheetError(T.loadError);
    }
  }

  let here = null;
  function locate() {
    if (!navigator.geolocation) return say(T.locateError);
    say(T.locating);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        if (here) map.removeLayer(here);
        here = L.circleMarker(ll, { radius: 9, color: "#fff", weight: 3, fillColor: "#1565c0", fillOpacity: 1, interactive: false }).addTo(map);
        map.setView(ll, Math.max(map.getZoom(), 18));
        say(areaLayer.getBounds().contains(ll) ? "" : T.outside);
      },
      () => say(T.locateError),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }

  // ---------- wiring ----------
  const actions = {
    locate, undo,
    "add-point": startPoint,
    "add-line": () => startShape("line"),
    "add-area": () => startShape("area"),
    contributions: showContributions,
    "place-point": placePoint,
    "remove-vertex": () => { if (sketch) { sketch.latlngs.pop(); redrawSketch(); } },
    "finish-shape": finishShape,
    "finish-geometry": finishGeometry,
    "cancel-draw": () => { const editing = !!editLayer; cancelDraw(); if (editing && current) openEditor(); },
    "edit-geometry": startGeometryEdit,
  };
  document.querySelectorAll("#toolbar [data-action], #drawbar [data-action], #editor [data-action='edit-geometry']").forEach((b) => {
    b.addEventListener("click", () => actions[b.dataset.action]());
  });
  // While drawing, a tap anywhere (on a feature too) places the cross or adds a vertex there.
  function mapTap(latlng) {
    if (el.dataset.mode === "add-point") map.panTo(latlng);
    if (sketch) {
      sketch.latlngs.push(latlng);
      redrawSketch();
    }
  }
  map.on("click", (e) => {
    if (el.dataset.mode) return mapTap(e.latlng);
    const feature = Cartoparty.selection.pickOnMap(map, drawn, e);
    if (feature) selectPublished(feature, e.latlng);
  });
  if (!canEdit) say(T.viewOnly);
  el.dataset.ready = "true";
  tiles.update();
  loadPending();
})();
