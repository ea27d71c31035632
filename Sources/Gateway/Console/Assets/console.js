// Switchyard console. Each page is a URL the daemon answers with the same shell (body data-page, data-id); this
// script fills it from /api with the session cookie. Everything a user or an upstream typed is put in the page as
// text (textContent), never as markup.
"use strict";

const page = document.body.dataset.page;
const pageId = document.body.dataset.id || null;
const view = document.getElementById("view");
const statusLine = document.getElementById("status");
let csrf = null;

// ---- DOM helpers -------------------------------------------------------------------------------------------------

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  return add(node, children);
}

/** Appends children (nested lists flattened) to a node: nodes as they are, anything else as text; null, undefined and
 *  false are left out. */
function add(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

/** Replaces a node's children. */
function fill(node, ...children) { return add(clear(node), children); }

function say(text, isError) {
  statusLine.textContent = text || "";
  statusLine.classList.toggle("error", Boolean(isError));
}

function badge(text) { return el("span", { class: "badge " + String(text).replace(/[^a-z_]/g, "") }, text); }

function when(millis) {
  if (millis === null || millis === undefined) return "—";
  const date = new Date(millis);
  return el("time", { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleString());
}

/** Micro-units of money as a decimal (1,000,000 micro-units = 1). */
function money(micros) {
  if (micros === null || micros === undefined) return "—";
  return (micros / 1e6).toLocaleString(undefined, { maximumFractionDigits: 6 });
}

function table(headers, rows, caption) {
  return el("div", { class: "table-wrap" },
    el("table", {},
      caption ? el("caption", { class: "muted" }, caption) : null,
      el("thead", {}, el("tr", {}, headers.map(h => el("th", { scope: "col", class: h.num ? "num" : null }, h.label || h)))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, "Nothing here yet.")))));
}

function labelled(text, control) { return el("label", {}, text, control); }

// ---- API ---------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : "HTTP " + status);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { "accept": "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && page !== "signin") {
    location.assign("/console/signin?next=" + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, { detail: "signed out" });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Runs an action from a button: disables it meanwhile, reports the outcome in the status line, reloads the page's data. */
function action(button, work, done) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const message = await work();
      if (message) say(message);
      if (done) await done();
    } catch (error) {
      say(error.message, true);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function button(text, attributes) { return el("button", Object.assign({ type: "button" }, attributes || {}), text); }

function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) values[name] = typeof value === "string" ? value.trim() : value;
  return values;
}

/** Handles a form's submit: `work` gets its values and returns the message to show, then `after` (the page's reload)
 *  runs; a failure shows in the status line. Returns the form. */
function onSubmit(form, work, after) {
  form.addEventListener("submit", async event => {
    event.preventDefault();
    try {
      const message = await work(formValues(form));
      if (message) say(message);
      if (after) await after();
    } catch (error) { say(error.message, true); }
  });
  return form;
}

function list(text) { return text ? text.split(",").map(s => s.trim()).filter(Boolean) : []; }

// ---- Pages -------------------------------------------------------------------------------------------------------

const pages = {};

pages.signin = async function () {
  const token = el("input", { type: "password", name: "token", id: "token", autocomplete: "current-password", required: true });
  const form = el("form", { class: "stack", id: "signin-form" },
    labelled("Admin token", token),
    el("p", { class: "muted" }, "The token the daemon was started with (SWITCHYARD_ADMIN_TOKEN). It is sent once; the browser keeps only a session cookie."),
    el("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async event => {
    event.preventDefault();
    try {
      await api("POST", "/console/session", { token: token.value });
      token.value = "";
      const next = new URLSearchParams(location.search).get("next");
      location.assign(next && next.startsWith("/console/") && !next.startsWith("/console/signin") ? next : "/console/overview");
    } catch (error) {
      say(error.message, true);
    }
  });
  view.append(el("section", { class: "card" }, form));
  token.focus();
};

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  return add(node, children);
}

/** A line chart of one or more series over the window's points, drawn as SVG (no library). */
function lineChart(title, points, lines, unit) {
  const width = 600, height = 170, left = 44, bottom = 22, top = 10;
  const values = lines.flatMap(line => points.map(line.value)).filter(v => v !== null && v !== undefined);
  const max = Math.max(1, ...values);
  const x = i => left + (points.length < 2 ? 0 : i * (width - left - 8) / (points.length - 1));
  const y = v => top + (height - top - bottom) * (1 - v / max);
  const fmt = v => v >= 100 ? Math.round(v).toLocaleString() : (Math.round(v * 10) / 10).toLocaleString();
  const label = title + ": " + lines.map(line => {
    const shown = points.map(line.value).filter(v => v !== null && v !== undefined);
    return line.label + " peak " + (shown.length ? fmt(Math.max(...shown)) : "none") + unit;
  }).join("; ");
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, class: "chart", role: "img", "aria-label": label },
    svg("title", {}, label),
    svg("line", { x1: left, y1: y(0), x2: width - 8, y2: y(0), class: "axis" }),
    svg("line", { x1: left, y1: y(max), x2: width - 8, y2: y(max), class: "grid" }),
    svg("text", { x: left - 4, y: y(max) + 4, class: "tick", "text-anchor": "end" }, fmt(max)),
    svg("text", { x: left - 4, y: y(0) + 4, class: "tick", "text-anchor": "end" }, "0"),
    points.length ? svg("text", { x: left, y: height - 6, class: "tick" }, new Date(points[0].start).toLocaleString()) : null,
    points.length ? svg("text", { x: width - 8, y: height - 6, class: "tick", "text-anchor": "end" }, "now") : null,
    lines.map((line, index) => {
      const coordinates = [];
      points.forEach((p, i) => { const v = line.value(p); if (v !== null && v !== undefined) coordinates.push([x(i), y(v)]); });
      // A point with nothing either side (a single busy minute) still shows, as a dot.
      return [svg("polyline", { points: coordinates.map(c => c.join(",")).join(" "), class: "series s" + index, fill: "none" }),
        coordinates.length <= 24 ? coordinates.map(c => svg("circle", { cx: c[0], cy: c[1], r: 2.5, class: "dot s" + index })) : null];
    }));
  return el("figure", { class: "chart-box" }, el("figcaption", {}, title, " ",
    lines.map((line, index) => el("span", { class: "key s" + index }, line.label))), chart);
}

/** Horizontal bars of requests per group (the ten busiest), the failed share of each drawn over it in the error colour. */
function barChart(title, groups, name) {
  const top = groups.slice(0, 10), rowHeight = 22, left = 150, width = 600;
  const max = Math.max(1, ...top.map(g => g.figures.requests));
  const label = title + ": " + top.map(g => name(g) + " " + g.figures.requests + " requests, " + g.figures.errors + " failed").join("; ");
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + Math.max(rowHeight, top.length * rowHeight), class: "chart bars", role: "img", "aria-label": label },
    svg("title", {}, label),
    top.map((g, i) => {
      const y = i * rowHeight, full = (width - left - 60) * g.figures.requests / max;
      const failed = g.figures.requests ? full * g.figures.errors / g.figures.requests : 0;
      const text = name(g);
      return [svg("text", { x: left - 6, y: y + 15, class: "tick", "text-anchor": "end" }, text.length > 22 ? text.slice(0, 21) + "…" : text),
        svg("rect", { x: left, y: y + 4, width: Math.max(1, full), height: rowHeight - 8, class: "bar" }),
        failed > 0 ? svg("rect", { x: left, y: y + 4, width: failed, height: rowHeight - 8, class: "bar failed" }) : null,
        svg("text", { x: left + full + 6, y: y + 15, class: "tick" }, g.figures.requests.toLocaleString())];
    }));
  return el("figure", { class: "chart-box" }, el("figcaption", {}, title, " ", el("span", { class: "key s0" }, "requests"),
    el("span", { class: "key s1" }, "failed")), chart);
}

function ms(value) { return value === null || value === undefined ? "—" : Math.round(value).toLocaleString() + " ms"; }

function rate(errors, requests) { return requests ? (100 * errors / requests).toFixed(1) + "%" : "—"; }

pages.overview = async function () {
  const windows = ["hour", "day", "week"];
  const chosen = windows.includes(new URLSearchParams(location.search).get("window")) ? new URLSearchParams(location.search).get("window") : "hour";
  const [stats, counts, channels, schedules] = await Promise.all([
    api("GET", "/api/stats?window=" + chosen), api("GET", "/api/jobs/counts"), api("GET", "/api/channels?limit=500"), api("GET", "/api/schedules")]);
  const channelName = id => { const c = channels.data.find(c => String(c.id) === id); return c ? c.name : id === "0" ? "(none)" : "#" + id; };
  const unhealthy = channels.data.filter(c => c.status !== "enabled" || c.failure_streak > 0);
  const byState = {};
  for (const row of counts.data) byState[row.state] = (byState[row.state] || 0) + row.count;
  const states = ["available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"];
  const perStep = chosen === "hour" ? "per minute" : "per hour";
  const t = stats.total;
  const groupTable = (groups, name) => table([name, { label: "Requests", num: true }, { label: "Errors", num: true }, { label: "p50", num: true },
    { label: "p99", num: true }, { label: "First token p50", num: true }, { label: "Tokens", num: true }, { label: "Spend", num: true }],
    groups.map(g => el("tr", {}, el("td", {}, name === "Channel" ? channelName(g.name) : g.name || "(none)"),
      el("td", { class: "num" }, g.figures.requests.toLocaleString()), el("td", { class: "num" }, rate(g.figures.errors, g.figures.requests)),
      el("td", { class: "num" }, ms(g.figures.latency_p50_ms)), el("td", { class: "num" }, ms(g.figures.latency_p99_ms)),
      el("td", { class: "num" }, ms(g.figures.ttft_p50_ms)),
      el("td", { class: "num" }, (g.figures.prompt_tokens + g.figures.completion_tokens).toLocaleString()),
      el("td", { class: "num" }, money(g.figures.cost)))));
  fill(view,
    el("nav", { class: "windows", "aria-label": "Window" }, windows.map(w =>
      el("a", { href: "/console/overview?window=" + w, "aria-current": w === chosen ? "page" : null }, "Last " + w))),
    unhealthy.length ? el("section", { class: "card attention", id: "unhealthy" }, el("h2", {}, "Channels needing attention"),
      table(["Channel", "Status", "Reason", { label: "Failures in a row", num: true }], unhealthy.map(c => el("tr", {},
        el("td", {}, el("a", { href: "/console/channels" }, c.name)), el("td", {}, badge(c.status)),
        el("td", {}, c.status_reason || "—"), el("td", { class: "num" }, c.failure_streak))))) : null,
    el("section", { class: "card", id: "totals" }, el("h2", {}, "Last " + chosen),
      el("dl", { class: "tiles" },
        [["Requests", t.requests.toLocaleString()], ["Error rate", rate(t.errors, t.requests)], ["Latency p50", ms(t.latency_p50_ms)],
         ["Latency p99", ms(t.latency_p99_ms)], ["First token p50", ms(t.ttft_p50_ms)],
         ["Tokens", (t.prompt_tokens + t.completion_tokens).toLocaleString()], ["Spend", money(t.cost)]]
          .map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))))),
    el("div", { class: "grid charts" },
      lineChart("Requests " + perStep, stats.series, [
        { label: "requests", value: p => p.figures.requests }, { label: "errors", value: p => p.figures.errors }], ""),
      lineChart("Latency", stats.series, [
        { label: "p50", value: p => p.figures.latency_p50_ms }, { label: "p99", value: p => p.figures.latency_p99_ms },
        { label: "first token p50", value: p => p.figures.ttft_p50_ms }], " ms"),
      lineChart("Tokens " + perStep, stats.series, [
        { label: "tokens", value: p => p.figures.prompt_tokens + p.figures.completion_tokens }], ""),
      lineChart("Spend " + perStep + " (micro-units)", stats.series, [{ label: "spend", value: p => p.figures.cost }], "")),
    el("section", { class: "card", id: "by-model" }, el("h2", {}, "By model"),
      stats.by_model.length ? barChart("Requests by model", stats.by_model, g => g.name || "(none)") : null, groupTable(stats.by_model, "Model")),
    el("section", { class: "card", id: "by-channel" }, el("h2", {}, "By channel"),
      stats.by_channel.length ? barChart("Requests by channel", stats.by_channel, g => channelName(g.name)) : null,
      groupTable(stats.by_channel, "Channel")),
    el("div", { class: "grid" },
      el("section", { class: "card", id: "queue-depth" }, el("h2", {}, "Queue by state"),
        table(["State", { label: "Jobs", num: true }], states.map(s => el("tr", {},
          el("td", {}, el("a", { href: "/console/jobs?state=" + s }, s)), el("td", { class: "num" }, byState[s] || 0))))),
      el("section", { class: "card" }, el("h2", {}, "Schedules"),
        table(["Schedule", "Last run", "Next run"], schedules.schedules.map(s => el("tr", {},
          el("td", {}, s.name, s.enabled ? null : [" ", badge("paused")]), el("td", {}, when(s.last_slot_at)),
          el("td", {}, s.enabled ? when(s.next_run_at) : "paused")))))));
};

pages.channels = async function () {
  const render = async () => {
    const channels = await api("GET", "/api/channels?limit=500");
    fill(listing, table(
      ["Name", "Type", "Base URL", "Models", { label: "Priority", num: true }, { label: "Weight", num: true }, "Status", "Actions"],
      channels.data.map(channelRow)));
  };
  const channelRow = c => {
    const row = el("tr", { "data-channel": c.id },
      el("td", {}, c.name), el("td", {}, c.type), el("td", {}, c.base_url), el("td", {}, c.models.join(", ")),
      el("td", { class: "num" }, c.priority), el("td", { class: "num" }, c.weight),
      el("td", {}, badge(c.status), c.status_reason ? el("div", { class: "muted" }, c.status_reason) : null),
      el("td", {}, el("div", { class: "actions" },
        action(button("Test", { "aria-label": "Test " + c.name }), async () => {
          const result = await api("POST", "/api/channels/" + c.id + "/test");
          return c.name + ": " + (result.ok ? "answered" : "failed") + (result.latency_ms !== undefined ? " in " + result.latency_ms + " ms" : "")
            + (result.error ? " — " + result.error : "");
        }, render),
        c.status === "enabled"
          ? action(button("Disable", { "aria-label": "Disable " + c.name }), async () => {
              await api("PATCH", "/api/channels/" + c.id, { status: "disabled" }); return c.name + " disabled";
            }, render)
          : action(button("Enable", { "aria-label": "Enable " + c.name }), async () => {
              await api("PATCH", "/api/channels/" + c.id, { status: "enabled" }); return c.name + " enabled";
            }, render),
        button("Edit", { "aria-label": "Edit " + c.name, onclick: () => row.after(editRow(c)) }),
        action(button("Delete", { class: "danger", "aria-label": "Delete " + c.name }), async () => {
          if (!confirm("Delete channel " + c.name + "?")) return null;
          await api("DELETE", "/api/channels/" + c.id); return c.name + " deleted";
        }, render))));
    return row;
  };
  const editRow = c => {
    const form = el("form", { class: "inline" },
      labelled("Priority", el("input", { name: "priority", type: "number", value: c.priority, required: true })),
      labelled("Weight", el("input", { name: "weight", type: "number", min: 1, value: c.weight, required: true })),
      labelled("Models (comma-separated)", el("input", { name: "models", value: c.models.join(", ") })),
      labelled("Model mapping (JSON)", el("input", { name: "model_mapping", value: JSON.stringify(c.model_mapping || {}) })),
      el("button", { type: "submit", class: "primary" }, "Save"));
    const row = el("tr", {}, el("td", { colspan: 8 }, form));
    onSubmit(form, async v => {
      await api("PATCH", "/api/channels/" + c.id, {
        priority: Number(v.priority), weight: Number(v.weight), models: list(v.models), model_mapping: JSON.parse(v.model_mapping || "{}"),
      });
      return c.name + " saved";
    }, render);
    return row;
  };
  const form = el("form", { class: "inline", id: "new-channel" },
    labelled("Name", el("input", { name: "name", required: true })),
    labelled("Type", el("select", { name: "type" }, el("option", { value: "openai" }, "openai"), el("option", { value: "anthropic" }, "anthropic"))),
    labelled("Base URL", el("input", { name: "base_url", type: "url", required: true, placeholder: "https://api.example.com" })),
    labelled("API key", el("input", { name: "api_key", type: "password", autocomplete: "off", required: true })),
    labelled("Models (comma-separated)", el("input", { name: "models", required: true })),
    el("button", { type: "submit", class: "primary" }, "Add channel"));
  onSubmit(form, async v => {
    const created = await api("POST", "/api/channels", { name: v.name, type: v.type, base_url: v.base_url, api_key: v.api_key, models: list(v.models) });
    form.reset();
    return "Channel " + created.name + " added";
  }, render);
  const listing = el("div", { id: "channel-list" });
  view.append(el("section", { class: "card" }, el("h2", {}, "Add a channel"), form), listing);
  await render();
};

pages.users = async function () {
  const render = async () => {
    const users = await api("GET", "/api/users?limit=500");
    fill(listing, table(
      ["User", { label: "Quota", num: true }, { label: "Used", num: true }, { label: "Balance", num: true }, { label: "Multiplier", num: true },
       "Status", "Keys", "Actions"],
      users.data.map(u => {
        const unlimited = u.quota === null || u.quota === undefined;
        const row = el("tr", { "data-user": u.id },
          el("td", {}, u.name, el("div", { class: "muted" }, "id " + u.id)),
          el("td", { class: "num" }, unlimited ? "unlimited" : money(u.quota)),
          el("td", { class: "num" }, money(u.used)), el("td", { class: "num" }, unlimited ? "—" : money(u.quota - u.used)),
          el("td", { class: "num" }, u.rate_multiplier + "×"),
          el("td", {}, badge(u.status)), el("td", {}, keysOf(u)),
          el("td", {}, button("Edit", { "aria-label": "Edit user " + u.name, onclick: () => row.after(editUser(u)) })));
        return row;
      })));
  };
  const editUser = u => {
    const form = el("form", { class: "inline" },
      labelled("Quota (micro-units, empty for none)", el("input", { name: "quota", type: "number", min: 0, value: u.quota ?? "" })),
      labelled("Rate multiplier", el("input", { name: "rate_multiplier", type: "number", step: "0.01", min: 0, value: u.rate_multiplier })),
      labelled("Status", el("select", { name: "status" }, ["active", "disabled"].map(s => el("option", { value: s, selected: u.status === s }, s)))),
      el("button", { type: "submit", class: "primary" }, "Save"));
    onSubmit(form, async v => {
      const body = { rate_multiplier: Number(v.rate_multiplier), status: v.status };
      if (v.quota !== "") body.quota = Number(v.quota);
      await api("PATCH", "/api/users/" + u.id, body);
      return "User " + u.name + " saved";
    }, render);
    return el("tr", {}, el("td", { colspan: 8 }, form));
  };
  const keysOf = u => {
    const box = el("div", {});
    const load = async () => {
      const keys = await api("GET", "/api/keys?user_id=" + u.id + "&limit=500");
      fill(box, 
        el("ul", {}, keys.data.map(k => el("li", { "data-key": k.id },
          k.name + " ", el("code", {}, k.fingerprint), " ", badge(k.status), " ", money(k.used) + " used ",
          k.status === "active"
            ? action(button("Revoke", { class: "danger", "aria-label": "Revoke key " + k.name }), async () => {
                await api("PATCH", "/api/keys/" + k.id, { status: "disabled" }); return "Key " + k.name + " revoked";
              }, load)
            : null))),
        action(button("New key", { "aria-label": "New key for " + u.name }), async () => {
          const key = await api("POST", "/api/keys", { user_id: u.id, name: "console" });
          const shown = el("div", { class: "secret", id: "new-key" }, key.key);
          const copy = button("Copy", { "aria-label": "Copy the new key" });
          action(copy, async () => { await navigator.clipboard.writeText(key.key); return "Copied"; });
          box.append(el("p", {}, "Shown once; copy it now:"), shown, copy);
          return "Key created for " + u.name;
        }));
    };
    load().catch(error => say(error.message, true));
    return box;
  };
  const form = el("form", { class: "inline", id: "new-user" },
    labelled("Name", el("input", { name: "name", required: true })),
    labelled("Quota (micro-units, empty for none)", el("input", { name: "quota", type: "number", min: 0 })),
    labelled("Rate multiplier", el("input", { name: "rate_multiplier", type: "number", step: "0.01", min: 0, value: "1" })),
    el("button", { type: "submit", class: "primary" }, "Create user"));
  onSubmit(form, async v => {
    const body = { name: v.name, rate_multiplier: Number(v.rate_multiplier || 1) };
    if (v.quota) body.quota = Number(v.quota);
    const user = await api("POST", "/api/users", body);
    form.reset();
    return "User " + user.name + " created";
  }, render);
  const listing = el("div", { id: "user-list" });
  view.append(el("section", { class: "card" }, el("h2", {}, "Create a user"), form), listing);
  await render();
};

pages.jobs = async function () {
  if (pageId) return jobDetail(pageId);
  const query = new URLSearchParams(location.search);
  const states = ["", "available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"];
  const filter = el("form", { class: "inline", id: "job-filter", method: "get", action: "/console/jobs" },
    labelled("State", el("select", { name: "state" }, states.map(s => el("option", { value: s, selected: query.get("state") === s }, s || "any")))),
    labelled("Kind", el("input", { name: "kind", value: query.get("kind") || "" })),
    labelled("Queue", el("input", { name: "queue", value: query.get("queue") || "" })),
    el("button", { type: "submit" }, "Filter"));
  const [counts, schedules] = await Promise.all([api("GET", "/api/jobs/counts"), api("GET", "/api/schedules")]);
  const queues = [...new Set(counts.data.map(c => c.queue))].sort();
  const shownStates = states.slice(1);
  const countOf = (q, s) => counts.data.filter(c => c.queue === q && c.state === s).reduce((n, c) => n + c.count, 0);
  const jobs = el("div", { id: "job-list" });
  const params = new URLSearchParams();
  for (const name of ["state", "kind", "queue"]) if (query.get(name)) params.set(name, query.get(name));
  const loadJobs = async cursor => {
    if (cursor) params.set("cursor", cursor); else params.delete("cursor");
    const page = await api("GET", "/api/jobs?" + params.toString());
    fill(jobs, table(["Job", "Kind", "Queue", "State", { label: "Attempt", num: true }, "Run at", "Last error"],
      page.jobs.map(j => el("tr", { "data-job": j.id },
        el("td", {}, el("a", { href: "/console/jobs/" + j.id }, "#" + j.id)), el("td", {}, j.kind), el("td", {}, j.queue),
        el("td", {}, badge(j.state)), el("td", { class: "num" }, j.attempt + " / " + j.max_attempts), el("td", {}, when(j.run_at)),
        el("td", {}, lastError(j))))),
      page.next_cursor ? button("Older jobs", { onclick: () => loadJobs(page.next_cursor).catch(e => say(e.message, true)) }) : null);
  };
  const renderSchedules = async () => {
    const current = await api("GET", "/api/schedules");
    fill(scheduleBox, table(["Schedule", "Kind", "Every", "Last run", "Next run", "Actions"], current.schedules.map(s => el("tr", { "data-schedule": s.name },
      el("td", {}, s.name), el("td", {}, s.kind), el("td", {}, s.interval_s + " s"), el("td", {}, when(s.last_slot_at)),
      el("td", {}, s.enabled ? when(s.next_run_at) : badge("paused")),
      el("td", {}, el("div", { class: "actions" },
        s.enabled
          ? action(button("Pause", { "aria-label": "Pause " + s.name }), async () => {
              await api("PATCH", "/api/schedules/" + encodeURIComponent(s.name), { enabled: false }); return s.name + " paused";
            }, renderSchedules)
          : action(button("Resume", { "aria-label": "Resume " + s.name }), async () => {
              await api("PATCH", "/api/schedules/" + encodeURIComponent(s.name), { enabled: true }); return s.name + " resumed";
            }, renderSchedules),
        action(button("Run now", { "aria-label": "Run " + s.name + " now" }), async () => {
          const result = await api("POST", "/api/schedules/" + encodeURIComponent(s.name) + "/run");
          return s.name + ": job #" + result.id + (result.duplicate ? " is still waiting" : " enqueued");
        }, renderSchedules)))))));
  };
  const scheduleBox = el("div", { id: "schedule-list" });
  view.append(
    el("section", { class: "card", id: "job-counts" }, el("h2", {}, "Jobs per queue and state"),
      table(["Queue"].concat(shownStates.map(s => ({ label: s, num: true }))), queues.map(q => el("tr", {},
        el("td", {}, q), shownStates.map(s => el("td", { class: "num" },
          countOf(q, s) ? el("a", { href: "/console/jobs?queue=" + encodeURIComponent(q) + "&state=" + s }, countOf(q, s)) : "0")))))),
    el("section", { class: "card" }, el("h2", {}, "Jobs"), filter, jobs),
    el("section", { class: "card" }, el("h2", {}, "Schedules"), scheduleBox));
  void schedules;
  await Promise.all([loadJobs(null), renderSchedules()]);
};

function lastError(job) {
  const errors = job.errors || [];
  const last = errors[errors.length - 1];
  return last && last.error ? last.error : "—";
}

async function jobDetail(id) {
  const render = async () => {
    const job = await api("GET", "/api/jobs/" + encodeURIComponent(id));
    fill(view, 
      el("section", { class: "card", id: "job-detail" },
        el("h2", {}, "Job #" + job.id + " · " + job.kind),
        el("p", {}, badge(job.state), " queue ", el("code", {}, job.queue), " · attempt " + job.attempt + " of " + job.max_attempts),
        el("p", {}, "Run at ", when(job.run_at), job.retry_until ? [" · retry until ", when(job.retry_until)] : null),
        el("div", { class: "actions" },
          ["retryable", "discarded", "cancelled", "completed"].includes(job.state)
            ? action(button("Retry", { class: "primary" }), async () => { await api("POST", "/api/jobs/" + job.id + "/retry"); return "Job #" + job.id + " will run again"; }, render)
            : null,
          ["available", "scheduled", "retryable", "running"].includes(job.state)
            ? action(button("Cancel", { class: "danger" }), async () => { await api("POST", "/api/jobs/" + job.id + "/cancel"); return "Job #" + job.id + " cancelled"; }, render)
            : null),
        el("h2", {}, "Arguments"), el("pre", {}, JSON.stringify(job.args, null, 2)),
        el("h2", {}, "Attempts and errors"),
        table(["Attempt", "At", "Error"], (job.errors || []).map(e => el("tr", {},
          el("td", {}, e.attempt === undefined ? "—" : e.attempt), el("td", {}, when(e.at)), el("td", {}, el("pre", {}, e.error || JSON.stringify(e))))))),
      el("p", {}, el("a", { href: "/console/jobs" }, "All jobs")));
  };
  await render();
}

pages.traces = async function () {
  if (pageId) return traceDetail(pageId);
  const query = new URLSearchParams(location.search);
  const fields = [["user_id", "User id", "number"], ["key_id", "Key id", "number"], ["model", "Model", "text"],
    ["channel_id", "Channel id", "number"], ["status", "Status", "number"]];
  const toInput = millis => millis ? new Date(Number(millis) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : "";
  const filter = el("form", { class: "inline", id: "trace-filter" },
    fields.map(([name, label, type]) => labelled(label, el("input", { name, type, value: query.get(name) || "" }))),
    labelled("Since", el("input", { name: "since", type: "datetime-local", value: toInput(query.get("since")) })),
    labelled("Until", el("input", { name: "until", type: "datetime-local", value: toInput(query.get("until")) })),
    el("button", { type: "submit" }, "Search"));
  // The form's own GET would send local times; the URL keeps milliseconds, so a bookmark means the same instant anywhere.
  filter.addEventListener("submit", event => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(formValues(filter))) {
      if (!value) continue;
      params.set(name, name === "since" || name === "until" ? String(new Date(value).getTime()) : value);
    }
    location.assign("/console/traces" + (params.toString() ? "?" + params.toString() : ""));
  });
  const params = new URLSearchParams();
  for (const name of ["user_id", "key_id", "model", "channel_id", "status", "since", "until"]) if (query.get(name)) params.set(name, query.get(name));
  const listing = el("div", { id: "trace-list" });
  const load = async cursor => {
    if (cursor) params.set("cursor", cursor); else params.delete("cursor");
    const page = await api("GET", "/api/traces?" + params.toString());
    fill(listing, table(["Trace", "At", "Model", "Status", { label: "Latency", num: true }, { label: "First token", num: true },
      { label: "Tokens", num: true }, { label: "Cost", num: true }, "User / key / channel"],
      page.data.map(t => el("tr", { "data-trace": t.id },
        el("td", {}, el("a", { href: "/console/traces/" + t.id }, "#" + t.id)), el("td", {}, when(t.created_at)),
        el("td", {}, t.model || "—", t.stream ? [" ", badge("stream")] : null),
        el("td", {}, badge(t.status >= 400 ? "failed" : "ok"), " " + t.status),
        el("td", { class: "num" }, ms(t.latency_ms)), el("td", { class: "num" }, ms(t.ttft_ms)),
        el("td", { class: "num" }, (t.prompt_tokens + t.completion_tokens).toLocaleString()), el("td", { class: "num" }, money(t.cost)),
        el("td", {}, [t.user_id, t.key_id, t.channel_id].map(v => v === null || v === undefined ? "—" : v).join(" / "))))),
      page.next_cursor ? button("Older traces", { onclick: () => load(page.next_cursor).catch(e => say(e.message, true)) }) : null);
  };
  view.append(el("section", { class: "card" }, el("h2", {}, "Search"), filter), listing);
  await load(null);
};

async function traceDetail(id) {
  const t = await api("GET", "/api/traces/" + encodeURIComponent(id));
  const rows = [["Request id", t.request_id], ["At", when(t.created_at)], ["Endpoint", t.endpoint], ["Model", t.model || "—"],
    ["Stream", t.stream ? "yes" : "no"], ["Status", String(t.status)], ["Attempts", String(t.attempts)], ["Latency", ms(t.latency_ms)],
    ["First token", ms(t.ttft_ms)], ["Prompt tokens", String(t.prompt_tokens)], ["Completion tokens", String(t.completion_tokens)],
    ["Cost", money(t.cost)], ["User", t.user_id ?? "—"], ["Key", t.key_id ?? "—"], ["Channel", t.channel_id ?? "—"],
    ["Error", t.error || "—"], ["Kept until", when(t.expires_at)]];
  const payloadBox = el("div", { id: "payload" });
  const reason = el("input", { name: "reason", required: true, placeholder: "e.g. support ticket 1234" });
  const reveal = el("form", { class: "inline", id: "reveal-payload" }, labelled("Reason (recorded in the audit log)", reason),
    el("button", { type: "submit" }, "Reveal payload"));
  onSubmit(reveal, async v => {
    const p = await api("POST", "/api/traces/" + t.id + "/payload", { reason: v.reason });
    fill(payloadBox,
      el("h3", {}, "Request" + (p.request_truncated ? " (truncated)" : "")), el("pre", {}, p.request ?? "—"),
      el("h3", {}, "Response" + (p.response_truncated ? " (truncated)" : "")), el("pre", {}, p.response ?? "—"));
    return "Payload revealed; the read is audited";
  });
  view.append(el("section", { class: "card", id: "trace-detail" }, el("h2", {}, "Trace #" + t.id),
    el("dl", { class: "facts" }, rows.map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))))),
    el("section", { class: "card" }, el("h2", {}, "Payload"),
      t.has_payload ? [reveal, payloadBox] : el("p", { class: "muted" }, "No payload was captured for this request, or it has expired.")),
    el("p", {}, el("a", { href: "/console/traces" }, "All traces")));
}

pages.imports = async function () {
  if (pageId) return importRun(pageId);
  const pasted = el("textarea", { name: "list", rows: 6, cols: 60, id: "import-list", spellcheck: "false",
    placeholder: "# base_url api_key [provider]\nhttps://api.example.com sk-…" });
  const file = el("input", { type: "file", name: "file", accept: ".txt,.csv,text/plain" });
  file.addEventListener("change", async () => { if (file.files[0]) pasted.value = await file.files[0].text(); });
  const options = [["confirm_delay_s", "Confirm after (s)", "60"], ["concurrency", "Concurrency", "8"], ["retry_window_s", "Retry window (s)", "600"]];
  const dryRun = el("input", { type: "checkbox", name: "dry_run" });
  const form = el("form", { class: "stack", id: "new-import" },
    labelled("Upstreams, one per line", pasted), labelled("…or a file", file),
    el("div", { class: "inline" }, options.map(([name, label, value]) => labelled(label, el("input", { name, type: "number", min: 0, value })))),
    el("label", { class: "check" }, dryRun, " Dry run (probe only, change nothing)"),
    el("button", { type: "submit", class: "primary" }, "Start import"));
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name] of options) { const v = form.elements[name].value; if (v !== "") query.set(name, v); }
    if (dryRun.checked) query.set("dry_run", "true");
    try {
      const response = await fetch("/api/batch-import/runs?" + query.toString(), {
        method: "POST", credentials: "same-origin", body: pasted.value,
        headers: { "content-type": "text/plain", "x-csrf-token": csrf, "accept": "application/json" } });
      const data = await response.json();
      if (!response.ok) {
        const details = (data.errors || []).map(e => "line " + ((e.index ?? 0) + 1) + ": " + e.field + " " + e.message).join("; ");
        throw new Error((data.detail || "HTTP " + response.status) + (details ? " — " + details : ""));
      }
      location.assign("/console/imports/" + encodeURIComponent(data.run_id));
    } catch (error) { say(error.message, true); }
  });
  const runs = await api("GET", "/api/batch-import/runs?limit=50");
  view.append(el("section", { class: "card" }, el("h2", {}, "Start a batch import"), form),
    el("section", { class: "card", id: "import-runs" }, el("h2", {}, "Runs"),
      table(["Run", "State", { label: "Items", num: true }, "Outcomes", "Started"], runs.data.map(r => el("tr", { "data-run": r.run_id },
        el("td", {}, el("a", { href: "/console/imports/" + encodeURIComponent(r.run_id) }, r.run_id)), el("td", {}, badge(r.state)),
        el("td", { class: "num" }, r.progress.done + " / " + r.total),
        el("td", {}, Object.entries(r.counts.by_outcome).map(([k, v]) => k + " " + v).join(", ") || "—"),
        el("td", {}, when(r.started_at || r.created_at)))))));
};

async function importRun(id) {
  const base = "/api/batch-import/runs/" + encodeURIComponent(id);
  const head = el("section", { class: "card", id: "import-run" });
  const items = el("div", { id: "import-items" });
  const eventsList = el("ol", { id: "import-events", class: "events", reversed: true });
  const rollbackBox = el("div", { id: "rollback" });
  const artifactBox = el("div", { id: "artifact" });
  let stream = null;
  const finished = state => !["queued", "running"].includes(state);
  const renderHead = run => {
    fill(head, el("h2", {}, "Run " + run.run_id),
      el("p", {}, badge(run.state), " " + run.progress.done + " of " + run.total + " items done (" + run.progress.percent + "%)"),
      el("progress", { max: run.total || 1, value: run.progress.done, "aria-label": "Items done" }),
      el("dl", { class: "facts" }, Object.entries(run.counts.by_outcome).map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, String(v))))),
      el("div", { class: "actions" },
        finished(run.state) ? null : action(button("Cancel run", { class: "danger" }), async () => {
          await api("POST", base + "/cancel"); return "Run cancelled"; }, refresh)));
  };
  const renderItems = async () => {
    const page = await api("GET", base + "/items?limit=500");
    fill(items, table(["#", "Upstream", "Key", "State", "Outcome", "Classification", "Channel", "Detail"],
      page.data.map(i => el("tr", { "data-item": i.index },
        el("td", {}, i.index), el("td", {}, i.base_url, i.provider ? el("div", { class: "muted" }, i.provider) : null),
        el("td", {}, el("code", {}, i.key_fingerprint)), el("td", {}, badge(i.state)), el("td", {}, i.outcome ? badge(i.outcome) : "—"),
        el("td", {}, i.classification || "—"), el("td", {}, i.channel_id ?? "—"), el("td", {}, i.detail || "—")))));
  };
  const renderEnd = async run => {
    if (!finished(run.state)) return;
    if (stream) { stream.close(); stream = null; }
    clear(artifactBox);
    if (run.artifact_path) {
      try {
        const artifact = await api("GET", base + "/artifact");
        artifactBox.append(el("h2", {}, "Artifact"), el("p", { class: "muted" }, run.artifact_path),
          el("pre", {}, JSON.stringify(artifact, null, 2)));
      } catch (error) { artifactBox.append(el("p", { class: "muted" }, error.message)); }
    }
    if (["succeeded", "partially_succeeded"].includes(run.state)) {
      fill(rollbackBox, el("h2", {}, "Roll back"),
        el("p", { class: "muted" }, "First see what a rollback would change; then apply it."),
        action(button("Dry run", { id: "rollback-dry-run" }), async () => {
          const plan = await api("POST", base + "/rollback", { dry_run: true });
          const entries = plan.entries || [];
          rollbackBox.append(el("div", { id: "rollback-plan" }, el("p", {}, entries.length + " change(s) would be undone:"),
            el("pre", {}, JSON.stringify(plan, null, 2)),
            action(button("Roll back now", { class: "danger", id: "rollback-apply" }), async () => {
              await api("POST", base + "/rollback", { dry_run: false }); return "Run rolled back";
            }, refresh)));
          return "Dry run: " + entries.length + " change(s) would be undone";
        }));
    } else {
      clear(rollbackBox);
    }
  };
  const refresh = async () => {
    const run = await api("GET", base);
    renderHead(run);
    await renderItems();
    await renderEnd(run);
    return run;
  };
  view.append(head, el("section", { class: "card" }, el("h2", {}, "Items"), items),
    el("section", { class: "card" }, el("h2", {}, "Live events"), eventsList), el("section", { class: "card" }, rollbackBox, artifactBox));
  const run = await refresh();
  if (!finished(run.state)) {
    // Live: the run's event stream (server-sent events, resumable); the head and items follow it, at most twice a second.
    let pending = null;
    stream = new EventSource(base + "/events");
    stream.onmessage = stream.onerror = null;
    const onEvent = event => {
      let line;
      try { line = JSON.parse(event.data); } catch (error) { line = { type: event.type }; }
      eventsList.prepend(el("li", {}, new Date(line.at || Date.now()).toLocaleTimeString() + " " + (line.type || event.type) +
        (line.item !== undefined && line.item !== null ? " item " + line.item : "") +
        (line.data && line.data.classification ? " — " + line.data.classification : "")));
      while (eventsList.children.length > 200) eventsList.lastChild.remove();
      if (!pending) pending = setTimeout(() => { pending = null; refresh().catch(e => say(e.message, true)); }, 500);
    };
    for (const type of ["run.queued", "run.started", "run.finished", "run.rolled_back", "item.probing", "item.retrying", "item.failed",
      "item.succeeded", "item.provisioned", "item.cancelled", "message"]) stream.addEventListener(type, onEvent);
  }
}

pages.nodes = async function () {
  const render = async () => {
    const nodes = await api("GET", "/api/nodes?limit=500");
    fill(listing, table(["Node", "Host", "Expected IP", "Relay", "Status", "DNS", "Last check", "Actions"], nodes.data.map(n => el("tr", { "data-node": n.id },
      el("td", {}, n.name), el("td", {}, n.host), el("td", {}, n.expected_ip), el("td", {}, n.relay_url, el("div", { class: "muted" }, "traffic via " + n.traffic_url)),
      el("td", {}, badge(n.status), n.last_error ? el("div", { class: "muted" }, n.last_error) : null),
      el("td", {}, (n.dns_addresses || []).join(", ") || "—"), el("td", {}, when(n.last_checked_at)),
      el("td", {}, action(button("Delete", { class: "danger", "aria-label": "Delete node " + n.name }), async () => {
        if (!confirm("Delete node " + n.name + "?")) return null;
        await api("DELETE", "/api/nodes/" + n.id); return "Node " + n.name + " deleted";
      }, render))))));
  };
  const form = el("form", { class: "inline", id: "new-node" },
    labelled("Name", el("input", { name: "name", required: true })), labelled("Host", el("input", { name: "host", required: true })),
    labelled("Expected IP", el("input", { name: "expected_ip", required: true })),
    labelled("Relay URL", el("input", { name: "relay_url", type: "url", required: true })),
    labelled("Relay key", el("input", { name: "relay_key", type: "password", autocomplete: "off", required: true })),
    el("button", { type: "submit", class: "primary" }, "Add node"));
  onSubmit(form, async v => {
    const node = await api("POST", "/api/nodes", v);
    form.reset();
    return "Node " + node.name + " added; nodes.probe checks it within 30 s";
  }, render);
  const listing = el("div", { id: "node-list" });
  view.append(el("section", { class: "card" }, el("h2", {}, "Add an exit node"), form), listing);
  await render();
};

pages.reconcile = async function () {
  if (pageId) return reconcileRun(pageId);
  const start = dryRun => action(button(dryRun ? "Dry run" : "Reconcile now", { class: dryRun ? null : "primary", id: dryRun ? "reconcile-dry-run" : "reconcile-apply" }),
    async () => {
      const run = await api("POST", "/api/reconcile/runs", { dry_run: dryRun });
      location.assign("/console/reconcile/" + encodeURIComponent(run.run_id));
      return null;
    });
  const runs = await api("GET", "/api/reconcile/runs?limit=50");
  view.append(el("section", { class: "card" }, el("h2", {}, "Compare every channel with its upstream"),
      el("p", { class: "muted" }, "A dry run shows the drift and changes nothing; a run fixes it."), el("div", { class: "actions" }, start(true), start(false))),
    el("section", { class: "card", id: "reconcile-runs" }, el("h2", {}, "Runs"),
      table(["Run", "State", "Kind", { label: "Channels", num: true }, "Drift", "Started"], runs.data.map(r => el("tr", { "data-run": r.run_id },
        el("td", {}, el("a", { href: "/console/reconcile/" + encodeURIComponent(r.run_id) }, r.run_id)), el("td", {}, badge(r.state)),
        el("td", {}, (r.dry_run ? "dry run" : "apply") + " · " + r.trigger), el("td", { class: "num" }, r.progress.done + " / " + r.total),
        el("td", {}, Object.entries(r.counts).map(([k, v]) => k + " " + v).join(", ") || "—"), el("td", {}, when(r.started_at || r.created_at)))))));
};

async function reconcileRun(id) {
  const box = el("section", { class: "card", id: "reconcile-run" });
  const render = async () => {
    const run = await api("GET", "/api/reconcile/runs/" + encodeURIComponent(id));
    const models = snapshot => snapshot ? (snapshot.models || []).join(", ") : "—";
    fill(box, el("h2", {}, "Reconcile " + run.run_id), el("p", {}, badge(run.state), " " + (run.dry_run ? "dry run" : "applied") +
        " · " + run.progress.done + " of " + run.total + " channels"), run.error ? el("p", { class: "muted" }, run.error) : null,
      table(["Channel", "Drift", "Applied", "Models before", "Models after", "Status after", "Detail"], (run.results || []).map(r => el("tr", { "data-channel": r.channel_id },
        el("td", {}, r.name), el("td", {}, r.drift ? badge(r.drift) : "pending"), el("td", {}, r.applied ? "yes" : "no"),
        el("td", {}, models(r.before)), el("td", {}, models(r.after)), el("td", {}, r.after ? r.after.status : "—"), el("td", {}, r.detail || "—")))));
    return run;
  };
  view.append(box, el("p", {}, el("a", { href: "/console/reconcile" }, "All reconcile runs")));
  let run = await render();
  while (["queued", "running"].includes(run.state)) {
    await new Promise(resolve => setTimeout(resolve, 1000));
    run = await render();
  }
}

pages.artifacts = async function () {
  const query = new URLSearchParams(location.search);
  const shown = query.get("view");
  if (shown) return artifactDetail(shown);
  const kind = query.get("kind") || "";
  const listing = el("div", { id: "artifact-list" });
  const params = new URLSearchParams({ limit: "100" });
  if (kind) params.set("kind", kind);
  const load = async cursor => {
    if (cursor) params.set("cursor", cursor); else params.delete("cursor");
    const page = await api("GET", "/api/artifacts?" + params.toString());
    fill(listing, table(["Kind", "Artifact", "File"], page.data.map(a => el("tr", { "data-artifact": a.kind + "/" + a.name },
      el("td", {}, el("a", { href: "/console/artifacts?kind=" + encodeURIComponent(a.kind) }, a.kind)),
      el("td", {}, el("a", { href: "/console/artifacts?view=" + encodeURIComponent(a.kind + "/" + a.name) }, a.name)),
      el("td", { class: "muted" }, a.path)))),
      page.next_cursor ? button("Older artifacts", { onclick: () => load(page.next_cursor).catch(e => say(e.message, true)) }) : null);
  };
  view.append(el("section", { class: "card" }, el("h2", {}, kind ? "Artifacts of " + kind : "All artifacts, newest first"),
    kind ? el("p", {}, el("a", { href: "/console/artifacts" }, "All kinds")) : null, listing));
  await load(null);
};

async function artifactDetail(reference) {
  const [kind, name] = reference.split("/");
  const base = "/api/artifacts/" + encodeURIComponent(kind) + "/" + encodeURIComponent(name || "");
  const summary = await api("GET", base);
  const result = el("div", { id: "verify-result" });
  view.append(el("section", { class: "card", id: "artifact-detail" }, el("h2", {}, kind + " · " + name),
      el("div", { class: "actions" }, action(button("Verify", { class: "primary", id: "verify-artifact" }), async () => {
        const verdict = await api("GET", base + "/verify");
        fill(result, el("p", {}, badge(verdict.valid ? "valid" : "invalid"), verdict.valid ? " matches its schema" : " " + verdict.problems.length + " problem(s)"),
          verdict.problems.length ? el("ul", {}, verdict.problems.map(p => el("li", {}, p))) : null);
        return verdict.valid ? "Valid" : "Invalid";
      })), result, el("pre", {}, JSON.stringify(summary, null, 2))),
    el("p", {}, el("a", { href: "/console/artifacts?kind=" + encodeURIComponent(kind) }, "All " + kind + " artifacts")));
}

// ---- Start -------------------------------------------------------------------------------------------------------

async function start() {
  if (page !== "signin") {
    try {
      csrf = (await api("GET", "/console/session")).csrf;
    } catch (error) {
      return;
    }
    const signout = document.getElementById("signout");
    if (signout) {
      signout.addEventListener("click", async () => {
        try { await api("DELETE", "/console/session"); } catch (error) { /* signed out either way */ }
        location.assign("/console/signin");
      });
    }
  }
  const render = pages[page];
  if (!render) { say("No such page.", true); return; }
  try {
    await render();
  } catch (error) {
    say(error.message, true);
  }
}

start();
