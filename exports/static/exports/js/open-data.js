// Downloads of large exports answer 202 with a job to poll: show its progress, then download.
for (const link of document.querySelectorAll("[data-export-link]")) {
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const status = link.parentElement.querySelector(".export-progress");
    const response = await fetch(link.href, { method: "HEAD" });
    if (response.status !== 202) {
      window.location.href = link.href;
      return;
    }
    const poll = async () => {
      const job = await (await fetch(response.headers.get("Location"))).json();
      if (status) status.textContent = `${job.progress}% ${job.message || ""}`;
      if (job.status === "done") window.location.href = link.href;
      else if (job.status === "failed") { if (status) status.textContent = job.error; }
      else setTimeout(poll, 2000);
    };
    poll();
  });
}
