"use strict";
// Builds the review page from the JSON block. Page text only ever goes through
// textContent: nothing from a record is parsed as HTML.
(function () {
  const data = JSON.parse(document.getElementById("diff-data").textContent);
  const decisions = new Map(); // "id\u0000path" -> decision entry

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function side(segments, label) {
    const box = el("div", "side " + label);
    for (const [op, text] of segments) {
      box.appendChild(op === "=" ? document.createTextNode(text) : el(op === "-" ? "del" : "ins", "", text));
    }
    return box;
  }

  function decide(record, entry, buttons, chosen) {
    const key = record.id + "\u0000" + entry.path;
    if (decisions.get(key) && decisions.get(key).decision === chosen.decision) {
      decisions.delete(key); // a second click undoes the decision
    } else {
      decisions.set(key, Object.assign({ id: record.id, path: entry.path, sha256: record.sha256 }, chosen));
    }
    const current = decisions.get(key);
    for (const button of buttons) {
      button.classList.toggle("chosen", !!current && button.dataset.decision === current.decision);
    }
    document.getElementById("decided").textContent = String(decisions.size);
  }

  function decisionButtons(record, entry, options) {
    const box = el("div", "decision");
    const buttons = [];
    for (const [label, chosen] of options) {
      const button = el("button", "", label);
      button.type = "button";
      button.dataset.decision = chosen.decision;
      button.addEventListener("click", () => decide(record, entry, buttons, chosen));
      buttons.push(button);
      box.appendChild(button);
    }
    const note = el("input", "note");
    note.placeholder = "note";
    note.addEventListener("input", () => {
      const current = decisions.get(record.id + "\u0000" + entry.path);
      if (current) current.note = note.value;
    });
    box.appendChild(note);
    return box;
  }

  function changeNode(record, change) {
    const box = el("div", "change");
    box.dataset.field = change.field;
    box.appendChild(el("span", "path", change.path));
    box.appendChild(el("span", "kind", " " + change.kind));
    const sides = el("div", "sides");
    sides.appendChild(side(change.old, "old"));
    sides.appendChild(side(change.new, "new"));
    box.appendChild(sides);
    if (change.correct) {
      const entry = { path: change.path };
      const keep = change.field_old === null
        ? { decision: "clear", field: change.correct }
        : { decision: "keep_old", field: change.correct, value: change.field_old };
      box.appendChild(decisionButtons(record, entry, [
        ["accept new", { decision: "accept", field: change.correct }],
        ["reject: keep old", keep],
        ["reject: clear " + change.correct, { decision: "clear", field: change.correct }],
      ]));
    } else {
      box.appendChild(el("div", "review-only", "review only: this field is not correctable"));
    }
    return box;
  }

  function recordNode(record) {
    const card = el("article", "record " + record.kind);
    card.dataset.kind = record.kind;
    card.dataset.site = record.site;
    card.dataset.stale = record.stale.length ? "1" : "";
    card.appendChild(el("h3", "", record.id + " — " + record.kind));
    if (record.title) card.appendChild(el("div", "title", record.title));
    const meta = el("div", "meta");
    meta.appendChild(el("span", "site", "site: " + record.site + "  "));
    meta.appendChild(el("span", "source", "source: " + record.path + "  "));
    if (record.url) {
      const link = el("a", "url", record.url);
      if (/^https?:\/\//i.test(record.url)) link.href = record.url; // never javascript: or data:
      link.rel = "noreferrer noopener";
      meta.appendChild(link);
    }
    card.appendChild(meta);
    if (record.stale.length) {
      const list = el("ul", "stale");
      for (const stale of record.stale) {
        const item = el("li", "", "stale correction: " + stale.detail);
        item.appendChild(decisionButtons(record, { path: "stale:" + stale.field }, [
          ["re-apply to the new source", { decision: "reconfirm", field: stale.field }],
          ["drop the correction", { decision: "drop", field: stale.field }],
        ]));
        list.appendChild(item);
      }
      card.appendChild(list);
    }
    if (record.warnings.length) {
      const list = el("ul", "warnings");
      for (const warning of record.warnings) list.appendChild(el("li", "", warning.code + ": " + warning.detail));
      card.appendChild(list);
    }
    for (const change of record.changes) card.appendChild(changeNode(record, change));
    return card;
  }

  function fillSelect(id, values) {
    const select = document.getElementById(id);
    for (const value of values) {
      const option = el("option", "", value);
      option.value = value;
      select.appendChild(option);
    }
    select.addEventListener("change", applyFilters);
  }

  function applyFilters() {
    const field = document.getElementById("filter-field").value;
    const site = document.getElementById("filter-site").value;
    const kind = document.getElementById("filter-kind").value;
    let shown = 0;
    for (const card of document.querySelectorAll("#records .record")) {
      let visible = (!site || card.dataset.site === site)
        && (!kind || (kind === "stale" ? card.dataset.stale === "1" : card.dataset.kind === kind));
      let changesShown = 0;
      for (const change of card.querySelectorAll(".change")) {
        const match = !field || change.dataset.field === field;
        change.hidden = !match;
        if (match) changesShown += 1;
      }
      if (field && changesShown === 0) visible = false;
      card.hidden = !visible;
      if (visible) shown += 1;
    }
    document.getElementById("shown").textContent = String(shown);
  }

  function decisionsText() {
    const curator = document.getElementById("curator").value.trim();
    const entries = Array.from(decisions.values()).map((d) => Object.assign({ curator: curator }, d));
    entries.sort((a, b) => (a.id + "\u0000" + a.path < b.id + "\u0000" + b.path ? -1 : 1));
    return JSON.stringify({ format: data.format, version: 1, old: data.old, new: data.new, decisions: entries }, null, 2) + "\n";
  }
  window.abstractpipeDecisions = decisionsText; // for tests and the console

  document.getElementById("download").addEventListener("click", () => {
    if (!document.getElementById("curator").value.trim()) {
      alert("Enter your name as curator first: every correction records who made it.");
      return;
    }
    const blob = new Blob([decisionsText()], { type: "application/json" });
    const link = el("a");
    link.href = URL.createObjectURL(blob);
    link.download = "decisions.json";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });

  const main = document.getElementById("records");
  const fields = new Set();
  const sites = new Set();
  for (const record of data.records) {
    main.appendChild(recordNode(record));
    sites.add(record.site);
    for (const change of record.changes) fields.add(change.field);
  }
  fillSelect("filter-field", Array.from(fields).sort());
  fillSelect("filter-site", Array.from(sites).sort());
  document.getElementById("filter-kind").addEventListener("change", applyFilters);
  applyFilters();
  document.body.dataset.ready = "1";
})();
