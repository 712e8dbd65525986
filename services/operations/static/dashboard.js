// The operations dashboard: polls /api/figures (the token's tenant, filtered by program) and
// redraws the cards, charts and tables. No build step; Chart.js is vendored.
"use strict";

const REFRESH_MS = 3000;
const charts = {};
const $ = (id) => document.getElementById(id);
const pct = (r) => (r === null || r === undefined ? "n/a" : `${Math.round(r * 100)}%`);
const STAGE_LABELS = {
  referred: "referred", assessed: "assessed", planned: "planned", scheduled: "scheduled",
  ready_for_step_down: "ready for step-down", discharged: "discharged", follow_ups: "follow-ups",
};

function chart(id, type, labels, datasets, options = {}) {
  if (typeof Chart === "undefined") return; // the figures still show in cards and tables
  if (charts[id]) {
    charts[id].data.labels = labels;
    charts[id].data.datasets = datasets;
    charts[id].update("none");
    return;
  }
  charts[id] = new Chart($(id), {
    type, data: { labels, datasets },
    options: { animation: false, responsive: true, plugins: { legend: { display: datasets.length > 1 } }, ...options },
  });
}

function rows(tableId, items, cells) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    for (const c of cells(item)) {
      const td = document.createElement("td");
      td.textContent = c === null || c === undefined ? "–" : String(c);
      tr.appendChild(td);
    }
    return tr;
  }));
}

function fillSelect(select, values) {
  const current = select.value;
  const have = new Set([...select.options].map((o) => o.value));
  for (const v of values) if (!have.has(v)) select.add(new Option(v, v));
  select.value = current;
}

function render(f) {
  fillSelect($("tenant"), f.filters.tenants);
  fillSelect($("program"), f.filters.programs);

  $("kpi-census").textContent = f.census.total;
  $("kpi-attendance").textContent = pct(f.sessions.attendance_rate);
  $("kpi-hours").textContent = pct(f.hours_compliance.scheduled_compliance_rate);
  $("kpi-fu7").textContent = pct(f.follow_up_completion.within_7_days.rate);
  $("kpi-fu30").textContent = pct(f.follow_up_completion.within_30_days.rate);
  $("kpi-safety").textContent = f.safety_flags.open;
  $("kpi-dlq").textContent = f.dead_letters.total;
  $("kpi-lag").textContent = f.consumer_lag.available
    ? f.consumer_lag.by_service.reduce((n, s) => n + s.lag, 0) : "n/a";

  const stages = f.pipeline.stages;
  chart("chart-pipeline", "bar", stages.map((s) => STAGE_LABELS[s.stage]),
    [{ label: "participants", data: stages.map((s) => s.reached), backgroundColor: "#2f6db5" }],
    { indexAxis: "y" });
  rows("transitions", f.pipeline.transitions, (t) => [
    `${STAGE_LABELS[t.from]} → ${STAGE_LABELS[t.to]}`, t.participants, t.median_hours]);

  const census = f.census.by_program_and_level;
  chart("chart-census", "bar", census.map((c) => `${c.program_id} · ${c.level_of_care}`),
    [{ label: "in care", data: census.map((c) => c.participants), backgroundColor: "#4a9d8f" }]);

  const flow = f.admissions_and_discharges;
  chart("chart-flow", "bar", flow.map((d) => d.day), [
    { label: "admissions", data: flow.map((d) => d.admissions), backgroundColor: "#2f6db5" },
    { label: "discharges", data: flow.map((d) => d.discharges), backgroundColor: "#e0a030" }]);

  const s = f.sessions;
  chart("chart-sessions", "doughnut", ["attended", "missed", "cancelled", "awaiting attendance"],
    [{ data: [s.attended, s.missed, s.cancelled, s.awaiting_attendance],
       backgroundColor: ["#2c8a4b", "#b5462f", "#999", "#9cb8dc"] }],
    { plugins: { legend: { display: true, position: "right" } } });
  $("sessions-text").textContent =
    `${s.scheduled} scheduled, ${s.attended} attended, ${s.missed} missed; attendance rate ${pct(s.attendance_rate)}`;

  const fu = f.follow_up_completion;
  rows("follow-ups", fu.by_day_offset, (d) => [d.day_offset, d.completed, d.missed, d.overdue, d.upcoming]);
  $("fu-text").textContent = `${fu.discharged} discharged; completed within 7 days: ` +
    `${fu.within_7_days.completed}/${fu.within_7_days.eligible} (${fu.within_7_days.pending} pending), ` +
    `within 30 days: ${fu.within_30_days.completed}/${fu.within_30_days.eligible}`;

  rows("safety", f.safety_flags.flags, (x) => [x.flag_id, x.participant_id, x.severity, x.source, x.age_hours,
    x.overdue ? "yes" : "no", x.status, x.escalated_to || "–"]);
  const times = (t) => Object.entries(t).map(([sev, v]) => `${sev} ${v.median_minutes} min (${v.flags})`).join(", ")
    || "none yet";
  $("safety-gap").textContent = `Median time to acknowledge: ${times(f.safety_flags.time_to_acknowledge)}; ` +
    `to resolve: ${times(f.safety_flags.time_to_resolve)}. ${f.safety_flags.gap}`;

  const dlq = Object.entries(f.dead_letters.by_reason);
  chart("chart-dlq", "bar", dlq.map(([r]) => r),
    [{ label: "dead letters", data: dlq.map(([, n]) => n), backgroundColor: "#b5462f" }]);

  const lag = f.consumer_lag.by_service || [];
  chart("chart-lag", "bar", lag.map((l) => l.service),
    [{ label: "messages behind", data: lag.map((l) => l.lag), backgroundColor: "#7a5db5" }]);

  rows("weeks", f.hours_compliance.weeks.slice(-15), (w) => [w.participant_id, w.week_start,
    w.hours_required, w.hours_scheduled, w.hours_attended]);
}

// The figures need an operations bearer token: one given in the address (#token=...), kept for
// this tab, or in development the page's own from /dev/token (absent outside development).
const TOKEN_KEY = "continuum-operations-token";

async function token() {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    const r = await fetch("/dev/token");
    if (!r.ok) throw new Error("sign in: open this page with #token=<an operations token>");
    sessionStorage.setItem(TOKEN_KEY, (await r.json()).access_token);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function refresh() {
  const params = new URLSearchParams();
  if ($("tenant").value) params.set("tenant", $("tenant").value);
  if ($("program").value) params.set("program", $("program").value);
  try {
    const r = await fetch(`/api/figures?${params}`, { headers: { Authorization: `Bearer ${await token()}` } });
    if (r.status === 401) sessionStorage.removeItem(TOKEN_KEY); // expired: the next refresh gets another
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    render(await r.json());
    $("status").textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    $("status").className = "status live";
    document.body.dataset.loaded = "true";
  } catch (err) {
    $("status").textContent = `not updating: ${err.message}`;
    $("status").className = "status error";
  }
}

$("filters").addEventListener("change", refresh);
refresh();
setInterval(refresh, REFRESH_MS);
