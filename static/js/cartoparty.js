// The site-wide entry module (templates/base.html), no inline script (CSP-friendly): selects with
// data-autosubmit send their form on change, and fields with data-max-length say when they are too long.
import { installLengthLimit } from "./length-limit.js";

document.querySelectorAll("[data-autosubmit]").forEach((el) => {
  el.addEventListener("change", () => el.form.submit());
});

const strings = document.getElementById("length-limit-strings");
installLengthLimit(document, strings ? strings.dataset.tooLong : "At most %(max)s characters (this has %(count)s).");
