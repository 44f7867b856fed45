// The datapoint table of a honeyhive report: paged, filtered, sorted, with a details row
// per datapoint. Its state lives in the URL fragment (#filter=failed&q=..&sort=..&page=..
// &open=..), read on load and on every change of the fragment, written on every action.
// User data only ever goes into the page as text (textContent), never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("hh-data").textContent);
  var rows = data.rows;
  var metrics = data.metrics;
  // Span trees by session (local runs; a connected run's spans are on HoneyHive).
  var trees = data.spans;
  var FAILED = 1, REGRESSED = 2, CHANGED = 4, NEW = 8, MERGED = 16;
  var FILTERS = [
    ["all", "all", function () { return true; }],
    ["failed", "failed", function (r) { return r.f & FAILED; }],
  ];
  if (data.baseline) {
    FILTERS.push(["regressed", "regressed", function (r) { return r.f & REGRESSED; }]);
    FILTERS.push(["changed", "changed", function (r) { return r.f & CHANGED; }]);
    FILTERS.push(["new", "new", function (r) { return r.f & NEW; }]);
  }
  var SIZES = [25, 50, 100, 250];
  var state = { filter: "all", q: "", sort: "", desc: false, page: 0, size: 50, open: -1 };
  for (var k = 0; k < rows.length; k++) rows[k].k = k;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(v, digits) {
    if (v === null || v === undefined) return "-";
    var scale = Math.pow(10, digits || 4);
    var t = (Math.round(v * scale) / scale).toString();
    return t === "-0" ? "0" : t;
  }
  var DIGITS = {};
  metrics.forEach(function (m) { DIGITS[m.name] = m.digits; });
  function asText(v) {
    if (v === undefined) return "";
    return typeof v === "string" ? v : JSON.stringify(v, null, 2);
  }
  function preview(v, n) {
    var t = asText(v).replace(/\s+/g, " ");
    return t.length > n ? t.slice(0, n) + "…" : t;
  }
  function haystack(r) {
    if (r.h === undefined) {
      r.h = [r.n, r.id, r.e || "", asText(r["in"]), asText(r.out), asText(r.gt)].join("\n").toLowerCase();
    }
    return r.h;
  }

  // The fragment: key=value pairs, percent-encoded.
  function readHash() {
    var h = location.hash.replace(/^#/, "");
    var s = { filter: "all", q: "", sort: "", desc: false, page: 0, size: 50, open: -1 };
    h.split("&").forEach(function (pair) {
      if (!pair) return;
      var i = pair.indexOf("=");
      var key = i < 0 ? pair : pair.slice(0, i);
      var value = i < 0 ? "" : decodeURIComponent(pair.slice(i + 1).replace(/\+/g, " "));
      if (key === "filter" && FILTERS.some(function (f) { return f[0] === value; })) s.filter = value;
      else if (key === "q") s.q = value;
      else if (key === "sort") s.sort = value;
      else if (key === "desc") s.desc = value === "1";
      else if (key === "page") s.page = Math.max(0, parseInt(value, 10) || 0);
      else if (key === "size" && SIZES.indexOf(parseInt(value, 10)) >= 0) s.size = parseInt(value, 10);
      else if (key === "open") s.open = parseInt(value, 10);
    });
    if (isNaN(s.open)) s.open = -1;
    return s;
  }
  function writeHash() {
    var parts = [];
    if (state.filter !== "all") parts.push("filter=" + state.filter);
    if (state.q) parts.push("q=" + encodeURIComponent(state.q));
    if (state.sort) parts.push("sort=" + encodeURIComponent(state.sort));
    if (state.desc) parts.push("desc=1");
    if (state.page) parts.push("page=" + state.page);
    if (state.size !== 50) parts.push("size=" + state.size);
    if (state.open >= 0) parts.push("open=" + state.open);
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname + location.search);
  }
  function set(change) {
    for (var key in change) state[key] = change[key];
    writeHash();
    render();
  }

  function filtered() {
    var test = FILTERS.filter(function (f) { return f[0] === state.filter; })[0][2];
    var q = state.q.toLowerCase();
    var out = rows.filter(function (r) { return test(r) && (!q || haystack(r).indexOf(q) >= 0); });
    var key = state.sort;
    if (key) {
      var value;
      if (key === "d") value = function (r) { return r.d; };
      else if (key === "status") value = function (r) { return r.f; };
      else if (key.indexOf("m:") === 0) {
        var name = key.slice(2);
        value = function (r) { var v = r.s[name]; return v === null || v === undefined ? -Infinity : v; };
      } else value = function (r) { return r.k; };
      out.sort(function (a, b) { return (value(a) - value(b)) || (a.k - b.k); });
      if (state.desc) out.reverse();
    }
    return out;
  }

  function controls(list) {
    var box = document.getElementById("controls");
    box.textContent = "";
    var group = el("div", "filters");
    FILTERS.forEach(function (f) {
      var count = rows.filter(f[2]).length;
      var b = el("button", "filter" + (state.filter === f[0] ? " active" : ""), f[1] + " (" + count + ")");
      b.type = "button";
      b.setAttribute("data-filter", f[0]);
      b.addEventListener("click", function () { set({ filter: f[0], page: 0, open: -1 }); });
      group.appendChild(b);
    });
    box.appendChild(group);
    var search = el("input", "search");
    search.type = "search";
    search.placeholder = "search ids, inputs, outputs, errors";
    search.value = state.q;
    search.addEventListener("change", function () { set({ q: search.value, page: 0, open: -1 }); });
    box.appendChild(search);
    var size = el("select", "size");
    SIZES.forEach(function (n) {
      var o = el("option", null, n + " per page");
      o.value = String(n);
      if (n === state.size) o.selected = true;
      size.appendChild(o);
    });
    size.addEventListener("change", function () { set({ size: parseInt(size.value, 10), page: 0 }); });
    box.appendChild(size);
    box.appendChild(el("span", "shown", list.length + " of " + rows.length + " rows"));
  }

  function header() {
    var thead = document.querySelector("#rows thead");
    thead.textContent = "";
    var tr = el("tr");
    function th(label, key) {
      var cell = el("th", key ? "sortable" : null, label);
      if (key) {
        if (state.sort === key) cell.className += state.desc ? " desc" : " asc";
        cell.addEventListener("click", function () {
          set({ sort: key, desc: state.sort === key ? !state.desc : false, page: 0 });
        });
      }
      tr.appendChild(cell);
    }
    th("#", "i");
    th("datapoint");
    th("status", "status");
    metrics.forEach(function (m) { th(m.name, "m:" + m.name); });
    th("ms", "d");
    th("output");
    thead.appendChild(tr);
  }

  function badges(r) {
    var cell = el("td", "status");
    if (r.f & FAILED) cell.appendChild(el("span", "badge failed", "failed"));
    if (r.f & REGRESSED) cell.appendChild(el("span", "badge regressed", "regressed"));
    else if (r.f & CHANGED) cell.appendChild(el("span", "badge changed", "changed"));
    if (r.f & NEW) cell.appendChild(el("span", "badge new", "new"));
    if (r.f & MERGED) cell.appendChild(el("span", "badge merged", "from " + r.m));
    if (!r.f) cell.appendChild(el("span", "badge ok", "ok"));
    return cell;
  }

  function scoreCell(r, m) {
    var cell = el("td", "num");
    var v = r.s[m.name];
    var label = r.lb && r.lb[m.name];
    if (v === undefined && label !== undefined) {
      cell.textContent = label;
      return cell;
    }
    cell.textContent = num(v, m.digits);
    var old = r.o && r.o.s[m.name];
    if (old !== undefined && v !== undefined && v !== null && old !== null && Math.abs(old - v) > 1e-12) {
      var worse = m.lower ? v > old : v < old;
      cell.className += worse ? " worse" : " better";
      cell.appendChild(el("span", "was", " ← " + num(old, m.digits)));
    }
    return cell;
  }

  function details(r, columns) {
    var tr = el("tr", "details");
    var td = el("td");
    td.colSpan = columns;
    var grid = el("div", "grid");
    function block(title, node) {
      var b = el("div", "block");
      b.appendChild(el("h4", null, title));
      b.appendChild(node);
      grid.appendChild(b);
    }
    block("inputs", el("pre", null, asText(r["in"])));
    if (r.gt !== undefined) block("ground truth", el("pre", null, asText(r.gt)));
    // The output, next to the baseline's when it differs, differences marked.
    if (r.df) {
      var pair = el("div", "diff");
      var before = el("pre", "old"), after = el("pre", "new");
      r.df.forEach(function (run) {
        if (run[0] <= 0) before.appendChild(run[0] < 0 ? el("del", null, run[1]) : document.createTextNode(run[1]));
        if (run[0] >= 0) after.appendChild(run[0] > 0 ? el("ins", null, run[1]) : document.createTextNode(run[1]));
      });
      var left = el("div"), right = el("div");
      left.appendChild(el("h5", null, "baseline"));
      left.appendChild(before);
      right.appendChild(el("h5", null, "this run"));
      right.appendChild(after);
      pair.appendChild(left);
      pair.appendChild(right);
      block("output (changed)", pair);
    } else if (r.o && r.o.out !== undefined && r.out === undefined) {
      var lost = el("div", "diff");
      var l = el("div"), rr = el("div");
      l.appendChild(el("h5", null, "baseline"));
      l.appendChild(el("pre", "old", asText(r.o.out)));
      rr.appendChild(el("h5", null, "this run"));
      rr.appendChild(el("pre", "new", "(no output)"));
      lost.appendChild(l);
      lost.appendChild(rr);
      block("output", lost);
    } else {
      block("output", el("pre", null, r.out === undefined ? "(no output)" : asText(r.out)));
    }
    if (r.e) block("error", el("pre", "error", r.e));
    if (r.o && r.o.e) block("baseline error", el("pre", "error", r.o.e));
    // Scores with explanations and errors.
    var table = el("table", "scores");
    var head = el("tr");
    ["metric", "value", data.baseline ? "baseline" : null, "explanation / errors"].forEach(function (h) {
      if (h) head.appendChild(el("th", null, h));
    });
    table.appendChild(head);
    var names = Object.keys(r.s);
    Object.keys(r.lb || {}).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); });
    Object.keys(r.ee || {}).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); });
    names.forEach(function (n) {
      var row = el("tr");
      row.appendChild(el("td", null, n));
      var value = r.s[n] !== undefined ? num(r.s[n], DIGITS[n]) : (r.lb && r.lb[n] !== undefined ? r.lb[n] : "-");
      row.appendChild(el("td", "num", value));
      if (data.baseline) row.appendChild(el("td", "num", r.o && r.o.s[n] !== undefined ? num(r.o.s[n], DIGITS[n]) : "-"));
      var note = [];
      if (r.x && r.x[n] !== undefined) note.push(asText(r.x[n]));
      if (r.ee && r.ee[n]) note.push("error: " + (r.ee[n].join("; ") || "no score"));
      row.appendChild(el("td", note.length && r.ee && r.ee[n] ? "error" : null, note.join("\n")));
      table.appendChild(row);
    });
    block("scores", table);
    if (r.mo) block("model calls", el("pre", null, asText(r.mo)));
    // The span tree, with durations.
    var sp = trees && r.sid ? trees[r.sid] : null;
    if (sp && sp.length) {
      var total = sp.reduce(function (t, s) { return Math.max(t, s[2] + s[3]); }, 0) || 1;
      var list = el("div", "spans");
      sp.forEach(function (s) {
        var line = el("div", "span" + (s[4] ? " error" : ""));
        var name = el("span", "name", s[1]);
        name.style.paddingLeft = (s[0] * 16) + "px";
        var bar = el("span", "bar");
        var fill = el("span", "fill");
        fill.style.marginLeft = (100 * s[2] / total) + "%";
        fill.style.width = Math.max(0.5, 100 * s[3] / total) + "%";
        bar.appendChild(fill);
        line.appendChild(name);
        line.appendChild(bar);
        line.appendChild(el("span", "ms", num(s[3]) + " ms"));
        list.appendChild(line);
      });
      block("spans", list);
    } else if (!trees) {
      block("spans", el("p", "muted", "this run's spans went to HoneyHive: see them there"));
    }
    if (r.m) block("taken from", el("p", null, "run " + r.m + " (HH_RERUN=failed did not run it again)"));
    td.appendChild(grid);
    tr.appendChild(td);
    return tr;
  }

  function render() {
    var list = filtered();
    var pages = Math.max(1, Math.ceil(list.length / state.size));
    if (state.page >= pages) state.page = pages - 1;
    controls(list);
    header();
    var tbody = document.querySelector("#rows tbody");
    tbody.textContent = "";
    var columns = 5 + metrics.length;
    var start = state.page * state.size;
    list.slice(start, start + state.size).forEach(function (r) {
      var tr = el("tr", "row" + (r.k === state.open ? " open" : ""));
      tr.setAttribute("data-key", String(r.k));
      tr.setAttribute("data-id", r.id);
      tr.appendChild(el("td", "num", r.i + 1));
      var name = el("td", "name");
      name.appendChild(el("span", null, r.n));
      tr.appendChild(name);
      tr.appendChild(badges(r));
      metrics.forEach(function (m) { tr.appendChild(scoreCell(r, m)); });
      tr.appendChild(el("td", "num", num(r.d)));
      tr.appendChild(el("td", "output", r.e ? "error: " + preview(r.e, 100) : preview(r.out, 140)));
      tr.addEventListener("click", function () { set({ open: state.open === r.k ? -1 : r.k }); });
      tbody.appendChild(tr);
      if (r.k === state.open) tbody.appendChild(details(r, columns));
    });
    if (!list.length) {
      var empty = el("tr");
      var cell = el("td", "muted", "no datapoint matches");
      cell.colSpan = columns;
      empty.appendChild(cell);
      tbody.appendChild(empty);
    }
    var pager = document.getElementById("pager");
    pager.textContent = "";
    var prev = el("button", null, "‹ previous");
    prev.type = "button";
    prev.disabled = state.page === 0;
    prev.addEventListener("click", function () { set({ page: state.page - 1, open: -1 }); });
    var next = el("button", null, "next ›");
    next.type = "button";
    next.disabled = state.page >= pages - 1;
    next.addEventListener("click", function () { set({ page: state.page + 1, open: -1 }); });
    pager.appendChild(prev);
    pager.appendChild(el("span", null, " page " + (state.page + 1) + " of " + pages + " "));
    pager.appendChild(next);
    document.body.setAttribute("data-rendered", String(list.length));
  }

  window.addEventListener("hashchange", function () { state = readHash(); render(); });
  state = readHash();
  // A row to open that is not on the page shown: go to its page.
  if (state.open >= 0) {
    var at = filtered().map(function (r) { return r.k; }).indexOf(state.open);
    if (at >= 0) state.page = Math.floor(at / state.size);
  }
  render();
})();
