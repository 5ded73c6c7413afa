// HomeSense live dashboard: plain JavaScript against the contract, so it works with any stage.
// Push mode listens on the WebSocket; poll mode asks on a timer. The counters show what each costs.
(function () {
  "use strict";

  const POLL_SECONDS = 2;
  const WINDOW_MS = 60000;
  const PING_MS = 60000; // keeps idle-timeout gateways (API Gateway: 10 min) from closing the socket
  const READINGS_SHOWN = 100;

  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("homesense-config").textContent || "{}");
  const state = {
    base: "", ws: "", token: "", username: "",
    devices: new Map(), selected: null, readings: [], alerts: new Map(),
    mode: "push", socket: null, pingTimer: null, pollTimer: null, reconnectTimer: null,
    httpTimes: [], wsTimes: [],
  };

  // --- configuration: ?base=&ws= beat the served defaults, which beat the page's own location ---
  function initialUrls() {
    const query = new URLSearchParams(location.search);
    const here = location.href.replace(/[?#].*$/, "").replace(/\/dashboard\/?$/, "");
    const base = query.get("base") || config.baseUrl || here;
    const ws = query.get("ws") || config.wsUrl || base.replace(/^http/, "ws") + "/ws";
    $("base-url").value = base;
    $("ws-url").value = ws;
  }

  function say(text) {
    $("message").textContent = text;
  }

  // --- HTTP: every call is counted, so the request rate shown is measured, not estimated ---
  async function api(method, path, body) {
    state.httpTimes.push(Date.now());
    showRates();
    const headers = {};
    if (state.token) headers.Authorization = "Bearer " + state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(state.base + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const why = data && (data.detail || data.title) ? data.detail || data.title : "";
      throw new Error(`${method} ${path}: ${response.status} ${why}`);
    }
    return data;
  }

  async function signIn(register) {
    state.base = $("base-url").value.trim().replace(/\/+$/, "");
    state.ws = $("ws-url").value.trim();
    const username = $("username").value.trim();
    const password = $("password").value;
    state.token = "";
    try {
      if (register) await api("POST", "/users", { username, password });
      const token = await api("POST", "/auth/token", { username, password });
      state.token = token.access_token;
      const me = await api("GET", "/me");
      state.username = me.username;
      $("who").textContent = "signed in as " + me.username;
      say("");
      await loadDevices();
      await loadAlerts();
      applyMode();
    } catch (err) {
      say(String(err.message || err));
    }
  }

  // --- devices and readings ---
  async function loadDevices() {
    const page = await api("GET", "/devices?limit=200");
    state.devices = new Map(page.items.map((d) => [d.id, d]));
    if (!state.devices.has(state.selected)) {
      state.selected = page.items.length ? page.items[0].id : null;
    }
    renderDevices();
    await loadReadings();
  }

  function describeDevice(d) {
    const range = [d.low_threshold, d.high_threshold].map((v) => (v === null ? "-" : v)).join(" .. ");
    return `${d.name} (${d.kind}${d.room ? ", " + d.room : ""}; range ${range} ${d.unit || ""})`;
  }

  function renderDevices() {
    const list = $("device-list");
    list.replaceChildren();
    for (const d of state.devices.values()) {
      const li = document.createElement("li");
      li.dataset.deviceId = d.id;
      li.dataset.testid = "device";
      if (d.id === state.selected) li.classList.add("selected");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = describeDevice(d);
      button.addEventListener("click", () => selectDevice(d.id));
      li.append(button);
      list.append(li);
    }
    const chosen = state.devices.get(state.selected);
    $("chart-title").textContent = chosen ? chosen.name : "(pick a device)";
  }

  async function selectDevice(id) {
    state.selected = id;
    renderDevices();
    await loadReadings();
  }

  async function loadReadings() {
    if (!state.selected) {
      state.readings = [];
    } else {
      const id = encodeURIComponent(state.selected);
      const page = await api("GET", `/devices/${id}/readings?order=desc&limit=${READINGS_SHOWN}`);
      state.readings = page.items.slice().reverse();
    }
    drawChart();
  }

  function drawChart() {
    const canvas = $("chart");
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, left = 48, bottom = 20, top = 10;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "12px sans-serif";
    ctx.fillStyle = "#5a6b78";
    const device = state.devices.get(state.selected);
    const points = state.readings.map((r) => ({ t: Date.parse(r.recorded_at), v: r.value }));
    canvas.dataset.points = String(points.length);
    if (!points.length) {
      ctx.fillText(device ? "no readings yet" : "pick a device", left, H / 2);
      return;
    }
    const limits = device ? [device.low_threshold, device.high_threshold].filter((v) => v !== null) : [];
    const values = points.map((p) => p.v).concat(limits);
    let min = Math.min(...values), max = Math.max(...values);
    if (min === max) { min -= 1; max += 1; }
    const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - 10);
    const y = (v) => H - bottom - ((v - min) / (max - min)) * (H - bottom - top);
    ctx.fillText(String(+max.toFixed(2)), 2, y(max) + 4);
    ctx.fillText(String(+min.toFixed(2)), 2, y(min) + 4);
    ctx.fillText(new Date(t0).toLocaleTimeString(), left, H - 4);
    ctx.strokeStyle = "#c0392b";
    ctx.setLineDash([5, 4]);
    for (const limit of limits) {
      ctx.beginPath(); ctx.moveTo(left, y(limit)); ctx.lineTo(W - 10, y(limit)); ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.strokeStyle = "#1f6fb2";
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
    ctx.stroke();
    for (const p of points) {
      const outside = device && ((device.low_threshold !== null && p.v < device.low_threshold) ||
                                 (device.high_threshold !== null && p.v > device.high_threshold));
      ctx.fillStyle = outside ? "#c0392b" : "#1f6fb2";
      ctx.beginPath(); ctx.arc(x(p.t), y(p.v), 3, 0, 2 * Math.PI); ctx.fill();
    }
  }

  // --- alerts: one list, fed by the WebSocket (push) or by GET /alerts (poll) ---
  async function loadAlerts() {
    const page = await api("GET", "/alerts?limit=50");
    page.items.forEach(upsertAlert);
  }

  function upsertAlert(alert) {
    const known = state.alerts.get(alert.id);
    // Pushes and polls can arrive out of order: keep the newest version of each alert.
    if (known && known.updated_at > alert.updated_at) return;
    state.alerts.set(alert.id, alert);
    renderAlerts();
  }

  function renderAlerts() {
    const list = $("alert-list");
    list.replaceChildren();
    const newestFirst = [...state.alerts.values()].sort((a, b) => (a.opened_at < b.opened_at ? 1 : -1));
    for (const a of newestFirst) {
      const li = document.createElement("li");
      li.className = a.status;
      li.dataset.testid = "alert";
      li.dataset.alertId = a.id;
      li.dataset.status = a.status;
      li.dataset.deviceId = a.device_id;
      const device = state.devices.get(a.device_id);
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = `${device ? device.name : a.device_id}: ${a.kind} alert, ${a.status}, level ${a.level}; ` +
        `last value ${a.last_value} (threshold ${a.threshold}, ${a.reading_count} reading(s))`;
      li.append(what);
      if (a.status === "open") {
        const ack = document.createElement("button");
        ack.type = "button";
        ack.textContent = "Ack";
        ack.dataset.testid = "ack";
        ack.addEventListener("click", () => acknowledge(a.id));
        li.append(ack);
      }
      list.append(li);
    }
  }

  async function acknowledge(id) {
    try {
      upsertAlert(await api("POST", `/alerts/${encodeURIComponent(id)}/ack`));
    } catch (err) {
      say(String(err.message || err));
    }
  }

  // --- push channel ---
  function setWsState(text) {
    const pill = $("ws-state");
    pill.dataset.state = text;
    pill.textContent = "push channel " + text;
    pill.classList.toggle("open", text === "open");
  }

  function openSocket() {
    closeSocket();
    const separator = state.ws.includes("?") ? "&" : "?";
    const socket = new WebSocket(state.ws + separator + "token=" + encodeURIComponent(state.token));
    state.socket = socket;
    setWsState("connecting");
    socket.addEventListener("open", () => {
      setWsState("open");
      state.pingTimer = setInterval(() => socket.send(JSON.stringify({ action: "ping" })), PING_MS);
      // Delivery is at-most-once to open connections: catch up on what changed while closed.
      loadAlerts().catch((err) => say(String(err.message || err)));
    });
    socket.addEventListener("message", (event) => {
      state.wsTimes.push(Date.now());
      showRates();
      const message = JSON.parse(event.data);
      if (!message.alert) return; // a pong
      upsertAlert(message.alert);
      if (message.alert.device_id === state.selected) {
        loadReadings().catch((err) => say(String(err.message || err)));
      }
    });
    socket.addEventListener("close", () => {
      if (state.socket !== socket) return;
      clearInterval(state.pingTimer);
      state.socket = null;
      setWsState("closed");
      if (state.mode === "push" && state.token) {
        state.reconnectTimer = setTimeout(openSocket, 3000);
      }
    });
  }

  function closeSocket() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.pingTimer);
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
    setWsState("closed");
  }

  // --- the switch ---
  function applyMode() {
    state.mode = $("mode-poll").checked ? "poll" : "push";
    clearInterval(state.pollTimer);
    if (!state.token) return;
    if (state.mode === "push") {
      openSocket();
    } else {
      closeSocket();
      state.pollTimer = setInterval(() => {
        Promise.all([loadAlerts(), loadReadings()]).catch((err) => say(String(err.message || err)));
      }, POLL_SECONDS * 1000);
    }
  }

  function showRates() {
    const since = Date.now() - WINDOW_MS;
    for (const times of [state.httpTimes, state.wsTimes]) {
      while (times.length && times[0] < since) times.shift();
    }
    $("http-rate").textContent = String(state.httpTimes.length);
    $("ws-rate").textContent = String(state.wsTimes.length);
  }

  function number(input) {
    const text = input.value.trim();
    return text === "" ? null : Number(text);
  }

  // --- wiring ---
  initialUrls();
  $("poll-seconds").textContent = String(POLL_SECONDS);
  $("poll-cost").textContent = String((60 / POLL_SECONDS) * 2);
  $("signin").addEventListener("submit", (event) => { event.preventDefault(); signIn(false); });
  $("register-button").addEventListener("click", () => {
    if ($("signin").reportValidity()) signIn(true);
  });
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", applyMode);
  }
  $("new-device").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("POST", "/devices", {
        name: $("device-name").value.trim(), kind: $("device-kind").value,
        low_threshold: number($("device-low")), high_threshold: number($("device-high")),
      });
      state.selected = created.id;
      await loadDevices();
    } catch (err) {
      say(String(err.message || err));
    }
  });
  $("new-reading").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.selected) return say("pick a device first");
    try {
      const id = encodeURIComponent(state.selected);
      await api("POST", `/devices/${id}/readings`, { readings: [{ value: number($("reading-value")) }] });
      await loadReadings();
    } catch (err) {
      say(String(err.message || err));
    }
  });
  setInterval(showRates, 1000);
})();
