// Fields with data-max-length (instead of maxlength, which cuts typed or pasted text without a word):
// a message under the field as soon as its text is longer, and its form is not sent while it is. The
// server refuses the same values with its own message; this only says it before the round trip.
// Works for fields added later (the party map's editor builds its own) through event delegation.

// Whether `field` is within its limit; shows or removes the message under it. `template` holds
// %(max)s and %(count)s.
export function checkLength(field, template) {
  const max = Number(field.dataset.maxLength);
  const count = Array.from(field.value).length; // code points, as the server counts
  let note = field.nextElementSibling;
  if (!note || !note.classList.contains("length-error")) note = null;
  if (count <= max) {
    if (note) {
      note.remove();
      field.removeAttribute("aria-invalid");
    }
    return true;
  }
  if (!note) {
    note = field.ownerDocument.createElement("p");
    note.className = "field-error length-error";
    note.setAttribute("role", "alert");
    field.after(note);
  }
  note.textContent = template.replace("%(max)s", String(max)).replace("%(count)s", String(count));
  field.setAttribute("aria-invalid", "true");
  return false;
}

export function installLengthLimit(doc, template) {
  doc.addEventListener("input", (e) => {
    if (e.target instanceof Element && e.target.matches("[data-max-length]")) checkLength(e.target, template);
  });
  // Capture phase: runs before the form's own submit handlers (the party map sends with fetch).
  doc.addEventListener("submit", (e) => {
    const tooLong = Array.from(e.target.querySelectorAll("[data-max-length]")).filter((f) => !checkLength(f, template));
    if (tooLong.length) {
      e.preventDefault();
      e.stopImmediatePropagation();
      tooLong[0].focus();
    }
  }, true);
}
