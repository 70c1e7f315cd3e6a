// The wallboard's script: listens to /dashboard/events and writes the figures into the tiles.
// Figures are only ever written as text (textContent), never as HTML.
"use strict";

(function () {
  const body = document.body;
  const lines = document.getElementById("lines");
  const template = document.getElementById("line-template");
  const connection = document.getElementById("connection");
  const updated = document.getElementById("updated");
  const afterCallRows = document.getElementById("after-call-rows");
  const afterCallTemplate = document.getElementById("after-call-template");
  const surveyTemplate = document.getElementById("survey-template");
  // The feed's survey groups, each with its table.
  const surveyTables = [
    ["agents", document.getElementById("surveys-by-agent")],
    ["languages", document.getElementById("surveys-by-language")],
    ["dispositions", document.getElementById("surveys-by-disposition")],
  ];
  const interval = Number(body.dataset.interval) || 2;
  const wanted = new Set(
    (new URLSearchParams(window.location.search).get("region") || "")
      .split(",").map((id) => id.trim()).filter(Boolean)
  );
  const tiles = new Map();
  let lastSnapshot = 0;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const minutes = Math.floor(seconds / 60);
    return minutes + ":" + String(seconds % 60).padStart(2, "0");
  }

  function percent(rate) {
    return rate === null || rate === undefined ? "–" : Math.round(rate * 100) + "%";
  }

  function rating(average) {
    return average === null || average === undefined ? "–" : average.toFixed(1);
  }

  function tileFor(line) {
    const key = line.region + "/" + line.language;
    let tile = tiles.get(key);
    if (!tile) {
      tile = template.content.firstElementChild.cloneNode(true);
      tile.dataset.region = line.region;
      tile.dataset.language = line.language;
      lines.appendChild(tile);
      tiles.set(key, tile);
    }
    return tile;
  }

  function put(tile, field, text) {
    tile.querySelector('[data-field="' + field + '"]').textContent = text;
  }

  function showLine(tile, line, snapshot) {
    put(tile, "region_name", line.region_name);
    put(tile, "language", line.language);
    put(tile, "hours", line.agents_open ? "open" : "closed");
    put(tile, "waiting", String(line.waiting));
    put(tile, "longest_wait", duration(line.longest_wait));
    put(tile, "estimated_wait", line.estimated_wait || "–");
    put(tile, "agents", line.agents_on_calls === null
      ? "–" : line.agents_on_calls + " / " + line.agents_available);
    put(tile, "callbacks_pending", String(line.callbacks_pending));
    put(tile, "calls_today", String(line.calls_today));
    put(tile, "self_service_rate", percent(line.self_service_rate));
    put(tile, "abandonment_rate", percent(line.abandonment_rate));
    put(tile, "service_level", percent(line.service_level));
    const longest = line.longest_wait || 0;
    tile.dataset.waiting = String(line.waiting);
    tile.classList.toggle("busy", line.waiting > 0);
    tile.classList.toggle("warn", longest > snapshot.answer_within && longest < snapshot.alarm_after);
    tile.classList.toggle("alarm", longest >= snapshot.alarm_after);
    tile.classList.toggle("closed", !line.agents_open);
    tile.classList.toggle("quiet",
      line.waiting === 0 && line.calls_today === 0 && line.callbacks_pending === 0);
  }

  // One row per region with a survey asked or a disposition today; rebuilt on each snapshot.
  function showAfterCall(regions) {
    const rows = [];
    for (const region of regions) {
      if (wanted.size && !wanted.has(region.region)) continue;
      const row = afterCallTemplate.content.firstElementChild.cloneNode(true);
      row.dataset.region = region.region;
      put(row, "region_name", region.region_name);
      put(row, "average_rating", rating(region.average_rating));
      put(row, "surveys", !region.survey && region.surveys_asked === 0
        ? "survey off" : region.surveys_answered + " / " + region.surveys_asked);
      put(row, "comments", String(region.comments));
      const codes = row.querySelector('[data-field="dispositions"]');
      for (const code of region.dispositions) {
        const item = document.createElement("li");
        item.dataset.code = code.code;
        const name = document.createElement("span");
        name.className = "code";
        name.textContent = code.code;
        const count = document.createElement("span");
        count.className = "count";
        count.textContent = String(code.count);
        item.append(name, " ", count);
        codes.appendChild(item);
      }
      if (!region.dispositions.length) codes.replaceWith("–");
      rows.push(row);
    }
    afterCallRows.replaceChildren(...rows);
    document.getElementById("after-call-table").hidden = rows.length === 0;
    document.getElementById("after-call-none").hidden = rows.length > 0;
    return rows.length;
  }

  // One row per agent, language or disposition with a survey asked today, over the regions
  // shown (the feed groups them for our ?region=); rebuilt on each snapshot.
  function showSurveys(surveys, regionsShown) {
    let shown = 0;
    for (const [group, table] of surveyTables) {
      const rows = (surveys[group] || []).map((figures) => {
        const row = surveyTemplate.content.firstElementChild.cloneNode(true);
        row.dataset.name = figures.name;
        put(row, "name", figures.name);
        put(row, "asked", String(figures.asked));
        put(row, "answered", String(figures.answered));
        put(row, "response_rate", percent(figures.response_rate));
        put(row, "average_rating", rating(figures.average_rating));
        put(row, "comments", String(figures.comments));
        return row;
      });
      table.tBodies[0].replaceChildren(...rows);
      table.hidden = rows.length === 0;
      shown += rows.length;
    }
    // With nothing at all after the call, the section's own note says it already.
    document.getElementById("surveys-none").hidden = shown > 0 || regionsShown === 0;
  }

  function show(snapshot) {
    let waiting = 0, callbacks = 0, calls = 0, longest = null;
    for (const line of snapshot.lines) {
      if (wanted.size && !wanted.has(line.region)) continue;
      showLine(tileFor(line), line, snapshot);
      waiting += line.waiting;
      callbacks += line.callbacks_pending;
      calls += line.calls_today;
      if (line.longest_wait !== null && (longest === null || line.longest_wait > longest)) {
        longest = line.longest_wait;
      }
    }
    showSurveys(snapshot.surveys || {}, showAfterCall(snapshot.after_call || []));
    document.getElementById("total-waiting").textContent = String(waiting);
    document.getElementById("total-longest").textContent = duration(longest);
    document.getElementById("total-callbacks").textContent = String(callbacks);
    document.getElementById("total-calls").textContent = String(calls);
    document.getElementById("answer-within").textContent = String(snapshot.answer_within);
    document.getElementById("alarm-after").textContent = duration(snapshot.alarm_after);
    document.getElementById("agents-note").hidden = snapshot.agents_known;
    updated.textContent = "updated " + new Date(snapshot.at).toLocaleTimeString();
    lastSnapshot = Date.now();
    setConnection("live", "live");
    body.classList.remove("stale");
  }

  function setConnection(state, text) {
    connection.className = state;
    connection.textContent = text;
  }

  function connect() {
    // The survey groups add up regions, so the feed does it for the regions this page shows.
    const query = wanted.size ? "?region=" + encodeURIComponent(Array.from(wanted).join(",")) : "";
    const source = new EventSource(body.dataset.events + query);
    source.addEventListener("snapshot", (event) => show(JSON.parse(event.data)));
    source.addEventListener("unavailable", () => {
      setConnection("trouble", "figures unavailable (database)");
      body.classList.add("stale");
    });
    source.addEventListener("signed-out", () => {
      source.close();
      window.location.assign(body.dataset.login);
    });
    source.addEventListener("error", () => {
      // The stream ends every few seconds and EventSource reconnects by itself; a refusal
      // (signed out, server off) closes it: reload, which leads to the sign-in page if needed.
      if (source.readyState === EventSource.CLOSED) {
        setConnection("trouble", "disconnected");
        window.setTimeout(() => window.location.reload(), 5000);
      }
    });
  }

  // Figures older than a few intervals are shown as stale, whatever the reason.
  window.setInterval(() => {
    const age = (Date.now() - lastSnapshot) / 1000;
    if (lastSnapshot && age > Math.max(6, 3 * interval)) {
      setConnection("trouble", "no update for " + Math.round(age) + " s");
      body.classList.add("stale");
    }
  }, 1000);

  // The announcements form lives at its own route; shown here when that route exists.
  const slot = document.getElementById("announcements");
  fetch(body.dataset.announcements, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.text() : null))
    .then((fragment) => {
      if (fragment) {
        slot.innerHTML = fragment;
        slot.hidden = false;
      }
    })
    .catch(() => {});

  connect();
})();
