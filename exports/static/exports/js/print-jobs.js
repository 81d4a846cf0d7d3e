// Follows queued and running print jobs: updates the progress bar, reloads when a job finishes.
// The entry module of exports/print_orders.html.
const items = document.querySelectorAll("[data-print-job]");
items.forEach((item) => {
  if (item.dataset.status !== "queued" && item.dataset.status !== "running") return;
  const bar = item.querySelector("progress");
  const message = item.querySelector("[data-job-message]");
  async function poll() {
    try {
      const resp = await fetch(item.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (resp.ok) {
        const job = await resp.json();
        if (bar) bar.value = job.progress;
        if (message) message.textContent = job.message;
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
      }
    } catch (err) {
      // Network hiccup: try again on the next tick.
    }
    window.setTimeout(poll, 1500);
  }
  window.setTimeout(poll, 1000);
});
