// @ts-check
// The dashboard's browser script. The hub serves it inline under a CSP hash of this very text,
// so it runs as it stands: no modules, no build step. That is also why it is one file of more
// than 300 lines: a second script would need its own hash, and splitting buys the page nothing.
/* eslint-disable max-lines -- one inline script under one CSP hash (see above) */

/** @typedef {import('../dashboard.js').DashboardData} DashboardData */
/** @typedef {import('../dashboard.js').DashboardDispatch} DashboardDispatch */
/** @typedef {import('../fleet.js').DashboardFleet} DashboardFleet */

(function () {
  'use strict';
  var KEY = 'agentic-hub-token';
  var REFRESH_MS = Number(document.body.dataset['refreshMs']);
  var STATUSES = ['queued', 'running', 'completed', 'failed', 'blocked', 'merged', 'cancelled'];
  /** @type {DashboardData | null} */
  var last = null;
  /** @type {number | undefined} */
  var timer = undefined;

  /**
   * The page's element with this id (the page always has it).
   * @param {string} id
   * @returns {HTMLElement}
   */
  function $(id) {
    var el = document.getElementById(id);
    if (!el) throw new Error('the page has no #' + id);
    return el;
  }
  /**
   * @param {string} id
   * @returns {HTMLInputElement}
   */
  function input(id) {
    return /** @type {HTMLInputElement} */ ($(id));
  }
  /**
   * @param {string} id
   * @returns {HTMLSelectElement}
   */
  function select(id) {
    return /** @type {HTMLSelectElement} */ ($(id));
  }
  /**
   * The first body of the table with this id.
   * @param {string} id
   * @returns {HTMLTableSectionElement}
   */
  function tbody(id) {
    var body = /** @type {HTMLTableElement} */ ($(id)).tBodies[0];
    if (!body) throw new Error('the table #' + id + ' has no body');
    return body;
  }

  var params = new URLSearchParams(location.search);
  if (params.has('token')) {
    sessionStorage.setItem(KEY, params.get('token') || '');
    params.delete('token');
    var rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }

  /** @returns {string} the token of this tab, or '' */
  function token() {
    return sessionStorage.getItem(KEY) || '';
  }

  /** @param {string} message why the token is asked for, or '' */
  function showLogin(message) {
    $('main').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    document.body.dataset['state'] = 'login';
  }

  /**
   * Appends a cell with this text to the row.
   * @param {HTMLTableRowElement} tr
   * @param {unknown} text
   * @param {string} [className]
   * @param {string} [title]
   * @returns {HTMLTableCellElement}
   */
  function cell(tr, text, className, title) {
    var td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }

  /**
   * @param {HTMLElement} td
   * @param {string | null} status
   */
  function badge(td, status) {
    td.textContent = '';
    var span = document.createElement('span');
    span.className = 'status s-' + String(status || 'unknown').replace(/[^a-z]/g, '');
    span.textContent = status || 'unknown';
    td.appendChild(span);
  }

  /**
   * @param {string | null} iso
   * @returns {string} how long ago, roughly
   */
  function ago(iso) {
    if (!iso) return '-';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (!isFinite(s)) return '-';
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }

  /**
   * @param {number | null} ms
   * @returns {string} the two largest units
   */
  function duration(ms) {
    if (ms == null) return '-';
    var s = Math.round(ms / 1000);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }

  /**
   * Fills a select with "all" and the values, keeping the choice when it is still offered.
   * @param {HTMLSelectElement} list
   * @param {string[]} values
   * @param {string} allLabel
   */
  function setOptions(list, values, allLabel) {
    var keep = list.value;
    list.textContent = '';
    var all = document.createElement('option');
    all.value = '';
    all.textContent = allLabel;
    list.appendChild(all);
    values.forEach(function (v) {
      var o = document.createElement('option');
      o.value = v;
      o.textContent = v;
      list.appendChild(o);
    });
    list.value = values.indexOf(keep) >= 0 ? keep : '';
  }

  /** @param {DashboardData} data */
  function render(data) {
    var nodes = tbody('nodes');
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
    var statusFilter = select('filter-status').value;
    var known = STATUSES.concat(
      Object.keys(data.counts).filter(function (s) {
        return STATUSES.indexOf(s) < 0;
      }),
    );
    known.forEach(function (s) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.dataset['status'] = s;
      b.setAttribute('aria-pressed', String(statusFilter === s));
      var label = document.createElement('span');
      label.className = 'status s-' + s.replace(/[^a-z]/g, '');
      label.textContent = s;
      var n = document.createElement('b');
      n.textContent = String(data.counts[s] || 0);
      b.appendChild(label);
      b.appendChild(n);
      b.addEventListener('click', function () {
        select('filter-status').value = statusFilter === s ? '' : s;
        refresh();
      });
      li.appendChild(b);
      counts.appendChild(li);
    });
    $('total').textContent = String(data.total);

    setOptions(
      select('filter-agent'),
      data.nodes.map(function (n) {
        return n.agent_id;
      }),
      'all nodes',
    );
    renderDispatches(data.dispatches);
    $('updated').textContent = 'updated ' + new Date(data.generated_at).toLocaleTimeString();
  }

  /**
   * @param {DashboardDispatch['changes']} c
   * @returns {string}
   */
  function changeText(c) {
    if (!c) return '-';
    if (c.commits === 0) return 'none';
    return '+' + c.insertions + ' \u2212' + c.deletions + ' (' + c.commits + ')';
  }

  /**
   * The branch, then a link to the pull request or where the work went.
   * @param {HTMLElement} td
   * @param {DashboardDispatch} d
   */
  function deliveryCell(td, d) {
    var branch = document.createElement('code');
    branch.textContent = d.branch || '';
    td.appendChild(branch);
    var url = null;
    try {
      url = d.pr_url ? new URL(d.pr_url) : null;
    } catch {
      url = null;
    }
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
    if (d.delivered)
      note.textContent =
        into === d.branch ? ' delivered' : ' \u2192 ' + into + ' (' + d.delivered.mode + ')';
    else if (
      d.changes &&
      d.changes.commits > 0 &&
      (d.status === 'completed' || d.status === 'failed')
    )
      note.textContent = ' awaiting review';
    td.appendChild(note);
  }

  /** @param {DashboardDispatch[]} rows */
  function renderDispatches(rows) {
    var text = input('filter-text').value.trim().toLowerCase();
    var body = tbody('dispatches');
    body.textContent = '';
    var shown = 0;
    rows.forEach(function (d) {
      if (text) {
        var hay = [d.id, d.repo, d.org, d.agent, d.task, d.question, d.agent_id]
          .join(' ')
          .toLowerCase();
        if (hay.indexOf(text) < 0) return;
      }
      var tr = document.createElement('tr');
      tr.dataset['id'] = d.id;
      tr.dataset['agentId'] = d.agent_id;
      tr.dataset['status'] = d.status || '';
      cell(tr, d.agent_id, '', d.fleet_node_id || '');
      cell(tr, d.id, 'workspace', d.task || '');
      cell(tr, d.org && d.repo ? d.org + '/' + d.repo : d.repo || '-', 'repo');
      cell(tr, d.agent || '-');
      badge(cell(tr, ''), d.status);
      cell(tr, duration(d.duration_ms), 'num');
      cell(tr, changeText(d.changes), 'num', d.changes ? d.changes.files_changed + ' file(s)' : '');
      var qa = cell(
        tr,
        d.qa ? (d.qa.passed ? 'pass' : 'FAIL') : '-',
        d.qa ? (d.qa.passed ? 'qa-pass' : 'qa-fail') : '',
        d.qa ? d.qa.summary_text : '',
      );
      qa.dataset['qa'] = d.qa ? String(d.qa.passed) : '';
      deliveryCell(cell(tr, ''), d);
      cell(tr, d.question || '', 'question', d.question || '');
      cell(tr, ago(d.updated_at || d.received_at), '', d.updated_at || d.received_at);
      body.appendChild(tr);
      shown++;
    });
    $('dispatches-empty').hidden = shown > 0;
    $('shown').textContent = String(shown);
  }

  /**
   * Shows the fleet's runners, or why there are none to show: an agent token may not read
   * them (403), and a hub whose database is not the fleet's store says so.
   * @param {DashboardFleet | null} fleet null when this token may not read the fleet
   */
  function renderFleet(fleet) {
    var section = $('fleet');
    var note = $('fleet-note');
    var table = $('fleet-nodes');
    section.hidden = fleet === null;
    document.body.dataset['fleet'] = fleet === null ? 'hidden' : fleet.fleet ? 'shown' : 'none';
    if (fleet === null) return;
    var body = tbody('fleet-nodes');
    body.textContent = '';
    if (!fleet.fleet) {
      table.hidden = true;
      note.hidden = false;
      note.textContent = 'No fleet view: ' + fleet.reason + '.';
      $('fleet-queued').textContent = '-';
      return;
    }
    fleet.nodes.forEach(function (n) {
      var tr = document.createElement('tr');
      tr.dataset['node'] = n.node_id;
      tr.dataset['lease'] = n.lease;
      cell(tr, n.node_id);
      var lease = cell(tr, '');
      badge(lease, n.lease);
      if (n.taken_over_by) lease.title = 'taken over by ' + n.taken_over_by + ' at ' + n.lost_at;
      cell(tr, n.heartbeat_age_s + 's ago', 'num', n.heartbeat_at);
      cell(tr, n.running, 'num');
      cell(tr, n.hostname);
      cell(tr, n.pid, 'num');
      cell(tr, n.version);
      cell(tr, ago(n.started_at), '', n.started_at);
      body.appendChild(tr);
    });
    table.hidden = fleet.nodes.length === 0;
    note.hidden = fleet.nodes.length > 0;
    note.textContent = 'No node has registered in the fleet store yet.';
    $('fleet-queued').textContent = String(fleet.queued);
  }

  /**
   * Fetches the Fleet view; an agent token gets 403 and the section stays hidden. A failure is
   * shown in the section and does not hold up the rest of the page.
   * @returns {Promise<void>}
   */
  function refreshFleet() {
    return fetch('/v1/dashboard/fleet', {
      headers: { Authorization: 'Bearer ' + token() },
      cache: 'no-store',
    })
      .then(function (res) {
        if (res.status === 403 || res.status === 401) return renderFleet(null);
        return res.json().then(function (body) {
          if (!res.ok)
            throw new Error((body && body.error && body.error.message) || 'HTTP ' + res.status);
          renderFleet(/** @type {DashboardFleet} */ (body));
        });
      })
      .catch(function (err) {
        $('fleet').hidden = false;
        $('fleet-note').hidden = false;
        $('fleet-note').textContent = 'Fleet view failed: ' + err.message;
      });
  }

  /** @returns {string} the filters as the query of `GET /v1/dashboard` */
  function query() {
    var q = new URLSearchParams();
    if (select('filter-agent').value) q.set('agent_id', select('filter-agent').value);
    if (select('filter-status').value) q.set('status', select('filter-status').value);
    var repo = input('filter-repo').value.trim();
    if (repo) q.set('repo', repo);
    q.set('limit', '200');
    return q.toString();
  }

  /** Fetches the dashboard document and shows it, then comes back after REFRESH_MS. */
  function refresh() {
    if (!token()) {
      showLogin('');
      return;
    }
    window.clearTimeout(timer);
    fetch('/v1/dashboard?' + query(), {
      headers: { Authorization: 'Bearer ' + token() },
      cache: 'no-store',
    })
      .then(function (res) {
        if (res.status === 401) {
          sessionStorage.removeItem(KEY);
          showLogin('The hub did not accept that token.');
          return null;
        }
        return res.json().then(function (body) {
          if (!res.ok)
            throw new Error((body && body.error && body.error.message) || 'HTTP ' + res.status);
          return /** @type {DashboardData} */ (body);
        });
      })
      .then(function (data) {
        if (!data) return;
        last = data;
        $('login').hidden = true;
        $('main').hidden = false;
        $('logout').hidden = false;
        $('error').textContent = '';
        render(data);
        return refreshFleet().then(function () {
          return true;
        });
      })
      .then(function (shown) {
        if (!shown) return;
        document.body.dataset['state'] = 'ready';
        document.body.dataset['refreshes'] = String(
          Number(document.body.dataset['refreshes'] || '0') + 1,
        );
      })
      .catch(function (err) {
        $('error').textContent = 'Refresh failed: ' + err.message;
      })
      .then(function () {
        if (token()) timer = window.setTimeout(refresh, REFRESH_MS);
      });
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, input('token-input').value.trim());
    input('token-input').value = '';
    refresh();
  });
  $('logout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    window.clearTimeout(timer);
    showLogin('');
  });
  ['filter-agent', 'filter-status'].forEach(function (id) {
    $(id).addEventListener('change', refresh);
  });
  $('filter-repo').addEventListener('change', refresh);
  $('filter-text').addEventListener('input', function () {
    if (last) renderDispatches(last.dispatches);
  });
  $('filters').addEventListener('submit', function (e) {
    e.preventDefault();
    refresh();
  });
  setOptions(select('filter-status'), STATUSES, 'all statuses');
  refresh();
})();
