// Live updates for the console without reloading: queue counts, and new messages on a
// case. Loaded from a file because the Content Security Policy forbids inline script.
"use strict";

(function () {
  const every = (Number(document.body.dataset.refresh) || 5) * 1000;

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) { window.location.assign("/console/login"); return null; }
    return response.ok ? response.json() : null;
  }

  function liveQueues(table) {
    const status = document.querySelector("[data-live-status]");
    async function refresh() {
      const queues = await getJSON("/console/queues.json");
      if (!queues) return;
      for (const q of queues) {
        const row = table.querySelector(`tr[data-queue="${CSS.escape(q.name)}"]`);
        if (!row) continue;
        row.querySelector('[data-field="waiting"]').textContent = String(q.waiting);
        const urgent = row.querySelector('[data-field="urgent"]');
        urgent.textContent = "";
        if (q.urgent > 0) {
          const strong = document.createElement("strong");
          strong.className = "urgent";
          strong.textContent = String(q.urgent);
          urgent.appendChild(strong);
        } else {
          urgent.textContent = "0";
        }
        row.querySelector('[data-field="oldest"]').textContent = q.oldest;
      }
      if (status) status.textContent = "Updated " + new Date().toLocaleTimeString();
    }
    setInterval(refresh, every);
  }

  function liveCase(box) {
    const ref = box.dataset.ref;
    let version = box.dataset.version;
    async function refresh() {
      const activity = await getJSON(`/console/cases/${encodeURIComponent(ref)}/activity.json`);
      if (!activity || activity.version === version) return;
      const response = await fetch(`/console/cases/${encodeURIComponent(ref)}/transcript`, {
        credentials: "same-origin", cache: "no-store",
      });
      if (!response.ok) return;
      const html = await response.text();
      const parsed = new DOMParser().parseFromString(html, "text/html");
      const fresh = parsed.querySelector("[data-transcript]");
      const old = box.querySelector("[data-transcript]");
      if (fresh && old) {
        old.replaceWith(document.importNode(fresh, true));
        version = activity.version;
        const list = box.querySelector("[data-transcript]");
        list.scrollTop = list.scrollHeight;
      }
    }
    setInterval(refresh, every);
  }

  const queues = document.querySelector('[data-live="queues"]');
  if (queues) liveQueues(queues);
  const box = document.querySelector('[data-live="case"]');
  if (box) liveCase(box);
})();
