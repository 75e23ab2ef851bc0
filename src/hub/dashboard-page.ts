import { createHash } from 'node:crypto';

/** How often the dashboard page refreshes its data, in ms. */
export const DASHBOARD_REFRESH_MS = 5_000;

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --bg: #f7f8fa; --card: #fff;
  --line: #e4e7ec; --accent: #2f6fed; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #98a2b3; --bg: #12151c;
  --card: #1a1f29; --line: #2a3140; --accent: #6d9bff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.1rem; margin: 0; }
header .spacer { flex: 1; }
#updated, .muted { color: var(--muted); font-size: .85rem; }
main { padding: 1rem 1.5rem; display: grid; gap: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
h2 { font-size: .95rem; margin: 0 0 .6rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
td.question { max-width: 28rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.qa-pass { color: #1a7f37; font-weight: 600; }
td.qa-fail { color: #cf222e; font-weight: 600; }
#counts { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; margin: 0; padding: 0; }
#counts button { border: 1px solid var(--line); border-radius: 999px; padding: .25rem .7rem; background: transparent; color: inherit; cursor: pointer; font: inherit; }
#counts button[aria-pressed="true"] { border-color: var(--accent); outline: 1px solid var(--accent); }
#counts b { margin-left: .3rem; }
#filters { display: flex; flex-wrap: wrap; gap: .6rem; margin-bottom: .6rem; }
#filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); gap: .15rem; }
input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .3rem .5rem; }
.status { display: inline-block; padding: 0 .45rem; border-radius: 4px; font-size: .8rem; font-weight: 600; }
.s-queued { background: #eef1f6; color: #475467; } .s-running { background: #e0ecff; color: #1849a9; }
.s-completed, .s-merged { background: #dcfae6; color: #067647; } .s-failed { background: #fee4e2; color: #b42318; }
.s-blocked { background: #fef0c7; color: #b54708; } .s-cancelled { background: #f2f4f7; color: #667085; }
.s-online { background: #dcfae6; color: #067647; } .s-idle, .s-unknown { background: #f2f4f7; color: #667085; }
#login { max-width: 28rem; margin: 3rem auto; }
#login form { display: flex; gap: .5rem; } #login input { flex: 1; }
#error { color: #b42318; padding: 0 1.5rem 1rem; min-height: 1.2rem; }
[hidden] { display: none !important; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var KEY = 'agentic-hub-token';
  var REFRESH_MS = ${DASHBOARD_REFRESH_MS};
  var STATUSES = ['queued', 'running', 'completed', 'failed', 'blocked', 'merged', 'cancelled'];
  var $ = function (id) { return document.getElementById(id); };
  var last = null;
  var timer = null;

  var params = new URLSearchParams(location.search);
  if (params.has('token')) {
    sessionStorage.setItem(KEY, params.get('token') || '');
    params.delete('token');
    var rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }

  function token() { return sessionStorage.getItem(KEY) || ''; }

  function showLogin(message) {
    $('main').hidden = true; $('logout').hidden = true; $('login').hidden = false;
    $('login-error').textContent = message || '';
    document.body.dataset.state = 'login';
  }

  function cell(tr, text, className, title) {
    var td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }

  function badge(td, status) {
    td.textContent = '';
    var span = document.createElement('span');
    span.className = 'status s-' + String(status || 'unknown').replace(/[^a-z]/g, '');
    span.textContent = status || 'unknown';
    td.appendChild(span);
  }

  function ago(iso) {
    if (!iso) return '-';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (!isFinite(s)) return '-';
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }

  function duration(ms) {
    if (ms == null) return '-';
    var s = Math.round(ms / 1000);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }

  function setOptions(select, values, allLabel) {
    var keep = select.value;
    select.textContent = '';
    var all = document.createElement('option');
    all.value = ''; all.textContent = allLabel; select.appendChild(all);
    values.forEach(function (v) {
      var o = document.createElement('option'); o.value = v; o.textContent = v; select.appendChild(o);
    });
    select.value = values.indexOf(keep) >= 0 ? keep : '';
  }

  function render(data) {
    var nodes = $('nodes').tBodies[0];
    nodes.textContent = '';
    data.nodes.forEach(function (n) {
      var tr = document.createElement('tr');
      cell(tr, n.agent_id);
      cell(tr, n.fleet_node_id || '-');
      badge(cell(tr, ''), n.status);
      cell(tr, ago(n.last_push_at), '', n.last_push_at || '');
      cell(tr, ago(n.last_pull_at), '', n.last_pull_at || '');
      cell(tr, n.dispatches, 'num');
      nodes.appendChild(tr);
    });
    $('nodes-empty').hidden = data.nodes.length > 0;

    var counts = $('counts');
    counts.textContent = '';
    var statusFilter = $('filter-status').value;
    var known = STATUSES.concat(Object.keys(data.counts).filter(function (s) { return STATUSES.indexOf(s) < 0; }));
    known.forEach(function (s) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button'; b.dataset.status = s;
      b.setAttribute('aria-pressed', String(statusFilter === s));
      var label = document.createElement('span'); label.className = 'status s-' + s.replace(/[^a-z]/g, ''); label.textContent = s;
      var n = document.createElement('b'); n.textContent = String(data.counts[s] || 0);
      b.appendChild(label); b.appendChild(n);
      b.addEventListener('click', function () {
        $('filter-status').value = statusFilter === s ? '' : s;
        refresh();
      });
      li.appendChild(b); counts.appendChild(li);
    });
    $('total').textContent = String(data.total);

    setOptions($('filter-agent'), data.nodes.map(function (n) { return n.agent_id; }), 'all nodes');
    renderDispatches(data.dispatches);
    $('updated').textContent = 'updated ' + new Date(data.generated_at).toLocaleTimeString();
  }

  function changeText(c) {
    if (!c) return '-';
    if (c.commits === 0) return 'none';
    return '+' + c.insertions + ' \u2212' + c.deletions + ' (' + c.commits + ')';
  }

  function deliveryCell(td, d) {
    var branch = document.createElement('code');
    branch.textContent = d.branch || '';
    td.appendChild(branch);
    var url = null;
    try { url = d.pr_url ? new URL(d.pr_url) : null; } catch (e) { url = null; }
    if (url && (url.protocol === 'https:' || url.protocol === 'http:')) {
      var a = document.createElement('a');
      a.href = url.href;
      a.rel = 'noopener noreferrer';
      a.textContent = ' pull request';
      td.appendChild(a);
      return;
    }
    var note = document.createElement('span');
    note.className = 'muted';
    var into = d.delivered ? d.delivered.ref.replace('refs/heads/', '') : '';
    if (d.delivered) note.textContent = into === d.branch ? ' delivered' : ' \u2192 ' + into + ' (' + d.delivered.mode + ')';
    else if (d.changes && d.changes.commits > 0 && (d.status === 'completed' || d.status === 'failed')) note.textContent = ' awaiting review';
    td.appendChild(note);
  }

  function renderDispatches(rows) {
    var text = $('filter-text').value.trim().toLowerCase();
    var body = $('dispatches').tBodies[0];
    body.textContent = '';
    var shown = 0;
    rows.forEach(function (d) {
      if (text) {
        var hay = [d.id, d.repo, d.org, d.agent, d.task, d.question, d.agent_id].join(' ').toLowerCase();
        if (hay.indexOf(text) < 0) return;
      }
      var tr = document.createElement('tr');
      tr.dataset.id = d.id; tr.dataset.agentId = d.agent_id; tr.dataset.status = d.status || '';
      cell(tr, d.agent_id, '', d.fleet_node_id || '');
      cell(tr, d.id, 'workspace', d.task || '');
      cell(tr, d.org && d.repo ? d.org + '/' + d.repo : d.repo || '-', 'repo');
      cell(tr, d.agent || '-');
      badge(cell(tr, ''), d.status);
      cell(tr, duration(d.duration_ms), 'num');
      cell(tr, changeText(d.changes), 'num', d.changes ? d.changes.files_changed + ' file(s)' : '');
      var qa = cell(tr, d.qa ? (d.qa.passed ? 'pass' : 'FAIL') : '-', d.qa ? (d.qa.passed ? 'qa-pass' : 'qa-fail') : '', d.qa ? d.qa.summary_text : '');
      qa.dataset.qa = d.qa ? String(d.qa.passed) : '';
      deliveryCell(cell(tr, ''), d);
      cell(tr, d.question || '', 'question', d.question || '');
      cell(tr, ago(d.updated_at || d.received_at), '', d.updated_at || d.received_at);
      body.appendChild(tr);
      shown++;
    });
    $('dispatches-empty').hidden = shown > 0;
    $('shown').textContent = String(shown);
  }

  function query() {
    var q = new URLSearchParams();
    if ($('filter-agent').value) q.set('agent_id', $('filter-agent').value);
    if ($('filter-status').value) q.set('status', $('filter-status').value);
    var repo = $('filter-repo').value.trim();
    if (repo) q.set('repo', repo);
    q.set('limit', '200');
    return q.toString();
  }

  function refresh() {
    if (!token()) { showLogin(''); return; }
    clearTimeout(timer);
    fetch('/v1/dashboard?' + query(), { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) {
          sessionStorage.removeItem(KEY);
          showLogin('The hub did not accept that token.');
          return null;
        }
        return res.json().then(function (body) {
          if (!res.ok) throw new Error((body && body.error && body.error.message) || ('HTTP ' + res.status));
          return body;
        });
      })
      .then(function (data) {
        if (!data) return;
        last = data;
        $('login').hidden = true; $('main').hidden = false; $('logout').hidden = false;
        $('error').textContent = '';
        render(data);
        document.body.dataset.state = 'ready';
        document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || '0') + 1);
      })
      .catch(function (err) { $('error').textContent = 'Refresh failed: ' + err.message; })
      .then(function () { if (token()) timer = setTimeout(refresh, REFRESH_MS); });
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $('token-input').value.trim());
    $('token-input').value = '';
    refresh();
  });
  $('logout').addEventListener('click', function () { sessionStorage.removeItem(KEY); clearTimeout(timer); showLogin(''); });
  ['filter-agent', 'filter-status'].forEach(function (id) { $(id).addEventListener('change', refresh); });
  $('filter-repo').addEventListener('change', refresh);
  $('filter-text').addEventListener('input', function () { if (last) renderDispatches(last.dispatches); });
  $('filters').addEventListener('submit', function (e) { e.preventDefault(); refresh(); });
  setOptions($('filter-status'), STATUSES, 'all statuses');
  refresh();
})();
`;

const BODY = `
<header>
  <h1>agentic hub</h1><span id="updated"></span><span class="spacer"></span>
  <button id="logout" type="button" hidden>Forget token</button>
</header>
<section id="login" hidden>
  <h2>Sign in</h2>
  <p class="muted">Paste a hub token (<code>agentic hub token create --admin</code>). It is kept in this tab only.</p>
  <form id="login-form"><input id="token-input" type="password" autocomplete="off" aria-label="Hub token" placeholder="agh_…"><button type="submit">Open</button></form>
  <p id="login-error" class="muted"></p>
</section>
<main id="main" hidden>
  <section>
    <h2>Fleet nodes</h2>
    <table id="nodes"><thead><tr><th>Agent</th><th>Fleet node</th><th>Status</th><th>Last push</th><th>Last pull</th><th>Dispatches</th></tr></thead><tbody></tbody></table>
    <p id="nodes-empty" class="muted" hidden>No node has pushed or pulled yet.</p>
  </section>
  <section>
    <h2>Dispatches by status <span class="muted">(<span id="total">0</span> in all)</span></h2>
    <ul id="counts"></ul>
  </section>
  <section>
    <h2>Recent dispatches <span class="muted">(<span id="shown">0</span> shown)</span></h2>
    <form id="filters">
      <label>Node<select id="filter-agent"></select></label>
      <label>Status<select id="filter-status"></select></label>
      <label>Repo<input id="filter-repo" placeholder="org/repo or repo"></label>
      <label>Search<input id="filter-text" type="search" placeholder="task, question, workspace"></label>
    </form>
    <table id="dispatches"><thead><tr><th>Node</th><th>Workspace</th><th>Repo</th><th>Agent</th><th>Status</th><th>Duration</th><th>Change</th><th>QA</th><th>Branch / delivery</th><th>Question</th><th>Updated</th></tr></thead><tbody></tbody></table>
    <p id="dispatches-empty" class="muted" hidden>No dispatches match.</p>
  </section>
</main>
<footer id="error" role="status"></footer>
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The dashboard page: one self-contained HTML document (inline CSS and JS, no external requests). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentic hub</title>
<style>${STYLE}</style>
</head>
<body data-state="loading">${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/** Content-Security-Policy for the page: only its own inline script and style (by hash) and same-origin fetches. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
