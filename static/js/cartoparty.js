// Project-wide behaviour, no inline script (CSP-friendly).
document.querySelectorAll("[data-autosubmit]").forEach((el) => {
  el.addEventListener("change", () => el.form.submit());
});
