// Project-wide behaviour, no inline script (CSP-friendly).
document.querySelectorAll("[data-autosubmit]").forEach((el) => {
  el.addEventListener("change", () => el.form.submit());
});

// The app's own base map (rendered by exports/tiles.py): every map uses it, never an external
// server. High-density screens get the 512 px @2x tiles.
window.Cartoparty = {
  baseLayer(options) {
    const retina = (window.devicePixelRatio || 1) > 1.5;
    const url = retina ? "/tiles/{z}/{x}/{y}@2x.png" : "/tiles/{z}/{x}/{y}.png";
    return L.tileLayer(url, { maxZoom: 19, minZoom: 3, errorTileUrl: "", ...(options || {}) });
  },
};
