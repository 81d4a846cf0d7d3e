// The public town map (published features by tile) and the map as of a date (by bounding box),
// styled by category.
// Popups are built with textContent only: tags are shown as text, never as HTML.
(function () {
  "use strict";
  const el = document.getElementById("town-map");
  if (!el) return;
  const status = document.getElementById("map-status");
  const STYLES = Cartoparty.featureStyles;
  const map = L.map(el, { zoomControl: true, preferCanvas: true });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("© OpenStreetMap contributors, ODbL");
  if (window.CARTOPARTY_TILES !== false) {
    Cartoparty.baseLayer().addTo(map);
  }
  const extent = (el.dataset.extent || "").split(",").map(Number);
  if (extent.length === 4 && extent.every(isFinite)) {
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
  } else {
    map.setView([47.14, 9.52], 13);
  }

  function popupFor(feature) {
    const box = document.createElement("div");
    box.className = "feature-popup";
    const title = document.createElement("strong");
    const tags = feature.properties.tags || {};
    title.textContent = tags.name || feature.properties.category;
    box.appendChild(title);
    const dl = document.createElement("dl");
    Object.keys(tags).sort().forEach((k) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = tags[k];
      dl.append(dt, dd);
    });
    box.appendChild(dl);
    return box;
  }

  const layer = L.geoJSON(null, {
    style: (f) => STYLES[f.properties.category] || STYLES.other,
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, ...(STYLES[f.properties.category] || STYLES.poi) }),
    onEachFeature: (f, l) => l.bindPopup(() => popupFor(f)),
  }).addTo(map);

  function show(features, state) {
    layer.clearLayers();
    el.dataset.state = state;
    if (state === "zoom-in") {
      status.textContent = el.dataset.msgZoomIn;
      return;
    }
    layer.addData({ type: "FeatureCollection", features });
    el.dataset.features = String(features.length);
    status.textContent = state === "error" ? el.dataset.msgError : features.length ? "" : el.dataset.msgEmpty;
  }
  function loading() {
    el.dataset.state = "loading";
    status.textContent = el.dataset.msgLoading;
  }

  // The live map reads shared, cached tiles; the map as of a date asks for the view's bbox.
  if (el.dataset.tilesUrl) {
    Cartoparty.featureTiles(map, el.dataset.tilesUrl, show, loading).update();
    return;
  }
  let controller = null;
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    loading();
    try {
      const resp = await fetch(`${el.dataset.featuresUrl}?bbox=${bbox}&zoom=${map.getZoom()}`, {
        signal: controller.signal, headers: { Accept: "application/geo+json" },
      });
      if (resp.status === 400) {
        show(null, "zoom-in");
        return;
      }
      if (!resp.ok) throw new Error(resp.status);
      show((await resp.json()).features, "loaded");
    } catch (err) {
      if (err.name === "AbortError") return;
      status.textContent = el.dataset.msgError;
      el.dataset.state = "error";
    }
  }
  map.on("moveend", load);
  load();
})();
