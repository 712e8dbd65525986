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

// Sign-in: OpenID Connect authorization code with PKCE (S256) at the deployment's identity
// provider, as the public client GET /api/identity names. The access token is kept in this
// page's memory only (a reload signs in again, silently while the provider's session lasts);
// only the PKCE verifier and state survive the redirect, in sessionStorage, and are removed
// as soon as the code is exchanged.
const PKCE_KEY = "continuum-dashboard-pkce";
const session = { identity: null, endpoints: null, token: null, refreshToken: null, renewAt: 0, idToken: null };
let leaving = null; // the redirect to the identity provider, once started
let renewing = null; // one token renewal at a time

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier) {
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

function redirectUri() {
  return location.origin + location.pathname;
}

async function identityProvider() {
  if (!session.endpoints) {
    const r = await fetch("/api/identity");
    if (!r.ok) throw new Error(`identity settings: HTTP ${r.status}`);
    session.identity = await r.json();
    const d = await fetch(`${session.identity.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
    if (!d.ok) throw new Error(`the identity provider does not answer (HTTP ${d.status})`);
    session.endpoints = await d.json();
  }
  return session.endpoints;
}

function signIn() {
  leaving = leaving || redirectToSignIn();
  return leaving;
}

async function redirectToSignIn() {
  const endpoints = await identityProvider();
  const verifier = randomString(48), state = randomString(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: "code", response_mode: "query", client_id: session.identity.client_id,
    redirect_uri: redirectUri(), scope: session.identity.scope || "openid", state,
    code_challenge: await challengeOf(verifier), code_challenge_method: "S256",
  });
  $("status").textContent = "signing in…";
  location.assign(`${endpoints.authorization_endpoint}?${params}`);
  return new Promise(() => {}); // the page is leaving
}

async function tokenRequest(form) {
  const endpoints = await identityProvider();
  const r = await fetch(endpoints.token_endpoint, {
    method: "POST", body: new URLSearchParams({ client_id: session.identity.client_id, ...form }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok || !body.access_token) throw new Error(`sign-in refused: ${body.error_description || body.error || r.status}`);
  session.token = body.access_token;
  session.refreshToken = body.refresh_token || null;
  session.idToken = body.id_token || session.idToken;
  const lifetime = Number(body.expires_in) || 60;
  session.renewAt = Date.now() + 1000 * (lifetime - Math.min(60, lifetime / 2));
  showUser();
}

// Back from the identity provider: exchange the code (once) and clean the address bar.
async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return;
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname);
  if (params.has("error")) throw new Error(`sign-in failed: ${params.get("error_description") || params.get("error")}`);
  if (!pending || pending.state !== params.get("state")) throw new Error("sign-in failed: unexpected state");
  await tokenRequest({ grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
    code_verifier: pending.verifier });
}

async function token() {
  if (session.token && Date.now() < session.renewAt) return session.token;
  if (session.refreshToken) {
    renewing = renewing || tokenRequest({ grant_type: "refresh_token", refresh_token: session.refreshToken })
      .catch(() => { session.refreshToken = null; }) // the provider's session is over: sign in again
      .finally(() => { renewing = null; });
    await renewing;
    if (session.token && Date.now() < session.renewAt) return session.token;
  }
  return signIn();
}

function claimsOf(jwt) {
  try {
    return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch (err) {
    return {};
  }
}

function showUser() {
  const c = claimsOf(session.token);
  $("user").textContent = c.preferred_username || c.sub || "";
  $("sign-out").hidden = false;
}

function signOut() {
  const endpoints = session.endpoints, idToken = session.idToken;
  Object.assign(session, { token: null, refreshToken: null, renewAt: 0, idToken: null });
  if (!endpoints || !endpoints.end_session_endpoint) return location.reload();
  const params = new URLSearchParams({ client_id: session.identity.client_id, post_logout_redirect_uri: redirectUri() });
  if (idToken) params.set("id_token_hint", idToken);
  location.assign(`${endpoints.end_session_endpoint}?${params}`);
}

async function refresh() {
  const params = new URLSearchParams();
  if ($("tenant").value) params.set("tenant", $("tenant").value);
  if ($("program").value) params.set("program", $("program").value);
  try {
    const r = await fetch(`/api/figures?${params}`, { headers: { Authorization: `Bearer ${await token()}` } });
    if (r.status === 401) session.renewAt = 0; // refused (expired, keys rotated): the next refresh renews it
    if (r.status === 403) throw new Error("this account has no operations role");
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

async function start() {
  try {
    await completeSignIn();
  } catch (err) {
    $("status").textContent = err.message;
    $("status").className = "status error";
    $("sign-in").hidden = false;
    return;
  }
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

$("filters").addEventListener("change", refresh);
$("sign-out").addEventListener("click", signOut);
$("sign-in").addEventListener("click", () => signIn());
start();
