// Retail Pulse live page: the alert panel and the per-tile alert marks.
// live.js announces every snapshot with a `pulse:snapshot` event; this module only reads `snap.alerts`.
const STATE_TEXT = { firing: "Firing", recovering: "Recovering", pending: "Pending", no_data: "No data", error: "Error",
  resolved: "Resolved", normal: "Normal" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function when(stamp) {
  return stamp ? stamp.replace("T", " ").slice(0, 16) + " UTC" : "—";
}

function valueText(value) {
  if (value === null || value === undefined) return "";
  return Number.isInteger(value) ? value.toLocaleString() : Number(value).toLocaleString(undefined, { maximumFractionDigits: 4 });
}

function alertItem(alert, stamp) {
  const li = el("li", "alert");
  li.dataset.state = alert.state;
  li.dataset.alertId = alert.alert_id;
  const head = el("p", "alert-head");
  head.append(el("span", "alert-state", STATE_TEXT[alert.state] ?? alert.state), " ",
    el("strong", "alert-rule", alert.rule), " · ", el("span", "alert-scope", alert.scope));
  if (alert.region && alert.region !== alert.scope) head.append(el("span", "alert-region", ` (${alert.region})`));
  li.append(head);
  const detail = [alert.detail || alert.summary, valueText(alert.value) && `value ${valueText(alert.value)}`].filter(Boolean);
  li.append(el("p", "alert-detail", detail.join(" — ")));
  const foot = el("p", "alert-since");
  foot.append(`${stamp === "since" ? "since" : "at"} `, el("time", "", when(alert[stamp])));
  if (alert.runbook) {
    const link = el("a", "alert-runbook", "runbook");
    link.href = alert.runbook;
    link.rel = "noopener";
    foot.append(" · ", link);
  }
  li.append(foot);
  return li;
}

function renderAlerts(panel) {
  const firing = document.getElementById("alerts-firing");
  const recent = document.getElementById("alerts-recent");
  if (!firing || !recent) return;
  firing.replaceChildren(...(panel.firing.length ? panel.firing.map((a) => alertItem(a, "since"))
    : [el("li", "empty", "No alert is firing.")]));
  recent.replaceChildren(...(panel.recent.length ? panel.recent.map((a) => alertItem(a, "at"))
    : [el("li", "empty", "Nothing in the last 24 hours.")]));
  const count = panel.firing.filter((a) => a.state === "firing" || a.state === "recovering").length;
  document.getElementById("alerts-count").textContent = count ? `${count} firing` : "all clear";
  document.getElementById("alerts").dataset.firing = String(count);
}

function markTiles(marks) {
  for (const tile of document.querySelectorAll("#tiles [data-tile]")) {
    const rules = marks[tile.dataset.tile];
    let badge = tile.querySelector(".tile-alert");
    if (rules && rules.length) {
      tile.dataset.alert = "firing";
      if (!badge) {
        badge = el("span", "tile-alert");
        tile.prepend(badge);
      }
      badge.textContent = "⚠ alert";
      badge.title = rules.join(", ");
    } else {
      delete tile.dataset.alert;
      badge?.remove();
    }
  }
}

document.addEventListener("pulse:snapshot", (event) => {
  const panel = event.detail?.alerts;
  if (!panel) return;
  renderAlerts(panel);
  markTiles(panel.tile_marks ?? {});
});
