// The tinydevcrm upload page: sends a CSV to POST /upload-file with a progress bar, shows
// the table the server made of it or why it refused the file, and follows GET /events
// live, lists tables and views and creates views from SQL. GET /tables, /views and /events
// may be missing (404): their panels then hide or say "not available", and the upload
// keeps working.
'use strict';

const $ = (id) => document.getElementById(id);

// Most events kept on screen; older ones are dropped from the bottom.
const kMaxEvents = 50;
// Most rows drawn per event; the rest are counted, not shown.
const kMaxEventRows = 20;
// Reconnect delays for a broken event stream: doubled per failure, up to the maximum.
const kRetryFirstMs = 1000;
const kRetryMaxMs = 30000;
// How often the tables-and-views panel is reloaded (it also reloads after each upload).
const kCatalogEveryMs = 5000;

const kErrorTitles = {
  ragged_rows: 'Some rows do not have as many fields as the header',
  table_exists: 'A table with this name already exists',
  empty_file: 'The file is empty',
  bad_encoding: 'The file is not readable text',
  unterminated_quote: 'A quoted field is never closed',
  too_many_columns: 'The file has too many columns',
  no_file: 'No file was sent',
  loader_timeout: 'The server took too long to load the file',
  loader_unavailable: 'The server cannot load files right now',
  network_error: 'The server could not be reached',
  no_file_chosen: 'No file chosen',
};

// What the person can do about an error, when the detail alone does not say it.
const kErrorHints = {
  table_exists: 'Type another name under "Table name", or drop the existing table first.',
  ragged_rows: 'Every row needs as many fields as the header line. Fix the lines below, then ' +
    'upload again.',
  loader_timeout: 'Try again in a moment; a very large file may need a longer upload timeout.',
};

// ---------------------------------------------------------------- small DOM helpers

// Returns a new element with `text` as its text content (when given) and `className`.
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

// Turns a stable error code such as "bad_value" into "Bad value".
function humanize(code) {
  const words = String(code || 'error').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// ---------------------------------------------------------------- choosing a file

function chosenFile() {
  return $('file').files[0] || null;
}

function showChosenFile() {
  const file = chosenFile();
  $('file-name').textContent = file ? `${file.name} (${formatBytes(file.size)})` : '';
  $('drop-zone').classList.toggle('has-file', Boolean(file));
}

function formatBytes(bytes) {
  if (bytes < 1024) return plural(bytes, 'byte');
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// Puts the first dropped file into the file input, so the form has one source of truth.
function takeDroppedFile(files) {
  if (!files || files.length === 0) return;
  const transfer = new DataTransfer();
  transfer.items.add(files[0]);
  $('file').files = transfer.files;
  showChosenFile();
}

function setupDropZone() {
  const zone = $('drop-zone');
  zone.addEventListener('click', () => $('file').click());
  zone.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    $('file').click();
  });
  for (const name of ['dragenter', 'dragover']) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    takeDroppedFile(event.dataTransfer.files);
  });
  $('file').addEventListener('change', showChosenFile);
}

// ---------------------------------------------------------------- uploading

function setProgress(loaded, total) {
  const percent = total > 0 ? Math.round((loaded / total) * 100) : 0;
  $('progress').value = percent;
  $('progress-text').textContent = `${percent}%`;
}

function setBusy(busy, status) {
  $('upload-button').disabled = busy;
  $('upload-form').setAttribute('aria-busy', String(busy));
  $('upload-status').textContent = status;
}

// Reads a reply body as JSON; a body that is not JSON becomes {error, detail} with its text.
function parseReply(status, text) {
  try {
    return JSON.parse(text);
  } catch (_) {
    const detail = text && text.trim() ? text.trim() : `The server answered HTTP ${status}.`;
    return { error: `http_${status}`, detail };
  }
}

// Sends `file` (and `table` when not empty) as multipart/form-data. Calls `done(status,
// body)` once: status 0 with an {error, detail} body when the request never got an answer.
function sendUpload(file, table, done) {
  const form = new FormData();
  if (table) form.append('table', table);
  form.append('file', file, file.name);

  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/upload-file');
  xhr.setRequestHeader('Accept', 'application/json');
  xhr.upload.addEventListener('progress', (event) => {
    if (event.lengthComputable) setProgress(event.loaded, event.total);
  });
  xhr.upload.addEventListener('load', () => {
    setProgress(1, 1);
    $('upload-status').textContent = 'Loading into the database…';
  });
  xhr.addEventListener('load', () => done(xhr.status, parseReply(xhr.status, xhr.responseText)));
  xhr.addEventListener('error', () => done(0, {
    error: 'network_error',
    detail: 'The upload did not reach the server, or its answer was lost. ' +
      'Check that tinydevcrm is running.',
  }));
  xhr.send(form);
}

function onSubmit(event) {
  event.preventDefault();
  const file = chosenFile();
  if (!file) {
    const detail = 'Choose a CSV file first, or drop one on the drop zone.';
    showError({ error: 'no_file_chosen', detail });
    $('file').focus();
    return;
  }
  clearResult();
  setProgress(0, 1);
  $('progress-row').hidden = false;
  setBusy(true, `Uploading ${file.name}…`);
  sendUpload(file, $('table').value.trim(), onReply);
}

function onReply(status, body) {
  if (status === 201) {
    setBusy(false, 'Done.');
    showResult(body);
    loadCatalog();
    return;
  }
  setBusy(false, status ? `Refused (HTTP ${status}).` : 'Failed.');
  showError(body);
}

// ---------------------------------------------------------------- result and errors

function clearResult() {
  $('result').hidden = true;
  $('error').hidden = true;
  $('result-empty').hidden = true;
}

// Shows a 201 body: {table, columns:[{name,type}], rows, views:[{name,created,reason}], ...}.
function showResult(body) {
  $('error').hidden = true;
  $('result-empty').hidden = true;
  $('result-table').textContent = body.table;
  $('result-rows').textContent = Number(body.rows).toLocaleString('en');
  $('result-encoding').textContent = body.encoding || '—';
  $('result-delimiter').textContent = body.delimiter || '—';
  renderColumns(body.columns || []);
  renderViews(body.views || []);
  for (const view of body.views || []) rememberView(view.name);
  $('result').hidden = false;
  loadFirstRows(body.table);
}

function renderColumns(columns) {
  const rows = columns.map((column) => {
    const tr = el('tr');
    tr.append(el('td', column.name, 'column-name'));
    const type = el('td');
    type.append(el('span', column.type, 'type-tag'));
    tr.append(type);
    return tr;
  });
  $('result-columns').tBodies[0].replaceChildren(...rows);
}

function renderViews(views) {
  const items = views.map((view) => {
    const li = el('li', null, view.created ? 'view-ok' : 'view-none');
    li.append(el('code', view.name));
    const reason = view.reason || 'no reason given';
    li.append(el('span', view.created ? ' created' : ` not created: ${reason}`));
    return li;
  });
  if (items.length === 0) items.push(el('li', 'No view was created for this table.', 'view-none'));
  $('result-views').replaceChildren(...items);
}

// Shows an error body {error, detail, lines?}; `lines` lists records as "line 3: 3 fields,
// expected 5".
function showError(body) {
  $('result').hidden = true;
  $('result-empty').hidden = true;
  $('error-title').textContent = kErrorTitles[body.error] || humanize(body.error);
  $('error-detail').textContent = body.detail || '';
  $('error-hint').textContent = kErrorHints[body.error] || '';
  const lines = Array.isArray(body.lines) ? body.lines : [];
  $('error-lines').replaceChildren(...lines.map((line) =>
    el('li', `line ${line.line}: ${plural(line.found, 'field')}, expected ${line.expected}`)));
  $('error').hidden = false;
}

// ---------------------------------------------------------------- tables and views

// GETs `path` as JSON. Returns null when the server does not offer it (404) or fails.
async function getJson(path) {
  try {
    const reply = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    return reply.ok ? await reply.json() : null;
  } catch (_) {
    return null;
  }
}

// Accepts a list, or an object holding the list under `key`; items are names or objects
// with a `name`. Returns the items as objects, each with at least a `name`.
function itemsOf(body, key) {
  const list = Array.isArray(body) ? body : body && Array.isArray(body[key]) ? body[key] : [];
  const items = list.map((item) => (typeof item === 'string' ? { name: item } : item));
  return items.filter((item) => item && item.name);
}

// Replaces the items of list `listId` with one <li data-name> per item, made by `render`.
function fillList(listId, items, render) {
  const nodes = items.map((item) => {
    const li = el('li');
    li.dataset.name = item.name;
    li.append(el('code', item.name), ...render(item));
    return li;
  });
  if (nodes.length === 0) nodes.push(el('li', 'none yet', 'muted'));
  $(listId).replaceChildren(...nodes);
}

function tableFacts(table) {
  const facts = [];
  if (table.rows !== undefined) facts.push(el('span', plural(table.rows, 'row'), 'muted'));
  return facts;
}

function viewFacts(view) {
  const facts = [];
  if (view.source_table) facts.push(el('span', `on ${view.source_table}`, 'muted'));
  if (view.events !== undefined) facts.push(el('span', plural(view.events, 'event'), 'muted'));
  const last = view.last_refresh ? `last refresh ${clockOf(view.last_refresh)} UTC`
    : 'not refreshed yet';
  facts.push(el('span', last, 'muted view-refresh'));
  return facts;
}

// Returns HH:MM:SS of an RFC 3339 time, or the text itself when it is not one.
function clockOf(time) {
  const text = String(time);
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(text) ? text.slice(11, 19) : text;
}

// Completes `view` with `events` and `last_refresh` (the newest refresh start), asking
// GET /views/{name} when the list did not carry them. Never fails: missing facts stay unset.
async function withRefreshFacts(view) {
  if (view.last_refresh !== undefined && view.events !== undefined) return view;
  const detail = await getJson(`/views/${encodeURIComponent(view.name)}`);
  if (!detail) return view;
  const starts = (detail.refreshes || []).map((r) => r.started).filter(Boolean).sort();
  return {
    ...view,
    events: view.events !== undefined ? view.events : detail.events,
    last_refresh: view.last_refresh || detail.last_refresh || starts.at(-1),
  };
}

// At most one catalog load runs at a time; a request made meanwhile runs once after it.
const catalog = { running: false, again: false };

// Fills the "Tables and views" panel; it stays hidden while neither endpoint exists.
async function loadCatalog() {
  if (catalog.running) {
    catalog.again = true;
    return;
  }
  catalog.running = true;
  try {
    await loadCatalogOnce();
  } finally {
    catalog.running = false;
  }
  if (catalog.again) {
    catalog.again = false;
    loadCatalog();
  }
}

async function loadCatalogOnce() {
  const [tables, views] = await Promise.all([getJson('/tables'), getJson('/views')]);
  $('tables-box').hidden = tables === null;
  $('views-box').hidden = views === null;
  $('view-form').hidden = views === null;
  $('catalog-panel').hidden = tables === null && views === null;
  if (tables !== null) fillList('tables-list', itemsOf(tables, 'tables'), tableFacts);
  if (views === null) return;
  const items = await Promise.all(itemsOf(views, 'views').map(withRefreshFacts));
  fillList('views-list', items, viewFacts);
  items.forEach((view) => rememberView(view.name));
}

// ---------------------------------------------------------------- creating a view

const kViewErrorTitles = {
  bad_sql: 'PostgreSQL refused the SQL',
  view_exists: 'A view with this name already exists',
  network_error: 'The server could not be reached',
  missing_field: 'Name and SQL are both needed',
};

// POSTs {name, sql} to /views as JSON. Returns {status, body}; status 0 when there was no
// answer, with an {error, detail} body.
async function postView(name, sql) {
  try {
    const reply = await fetch('/views', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name, sql }),
    });
    return { status: reply.status, body: parseReply(reply.status, await reply.text()) };
  } catch (_) {
    const detail = 'The request did not reach the server. Check that tinydevcrm is running.';
    return { status: 0, body: { error: 'network_error', detail } };
  }
}

async function onCreateView(event) {
  event.preventDefault();
  const name = $('view-name').value.trim();
  const sql = $('view-sql').value.trim();
  if (!name || !sql) {
    showViewError({ error: 'missing_field', detail: 'Type a view name and a SELECT.' });
    return;
  }
  $('view-error').hidden = true;
  $('view-button').disabled = true;
  $('view-status').textContent = `Creating ${name}…`;
  const { status, body } = await postView(name, sql);
  $('view-button').disabled = false;
  if (status === 201) onViewCreated(body, name);
  else showViewError(body, status);
}

// Shows a 201 body {name, source_table?, sql} and lists the new view.
function onViewCreated(body, name) {
  const created = body.name || name;
  const source = body.source_table ? ` on table ${body.source_table}` : '';
  $('view-status').textContent = `Created view ${created}${source}.`;
  rememberView(created);
  loadCatalog();
}

// Shows an error body {error, detail}; a 400 detail is PostgreSQL's own message.
function showViewError(body, status) {
  $('view-status').textContent = status ? `Refused (HTTP ${status}).` : '';
  $('view-error-title').textContent = kViewErrorTitles[body.error] || humanize(body.error);
  $('view-error-detail').textContent = body.detail || '';
  $('view-error').hidden = false;
}

// ---------------------------------------------------------------- first rows of a table

// Shows the first rows of `table` under the result, from GET /tables/{name}
// ({columns:[{name}], first_rows:[[text|null]]}). Hides the box when that fails, and
// drops a reply for a table no longer shown.
async function loadFirstRows(table) {
  $('first-rows-box').hidden = true;
  const body = await getJson(`/tables/${encodeURIComponent(table)}`);
  if ($('result').hidden || $('result-table').textContent !== table) return;
  if (!body || !Array.isArray(body.first_rows)) return;
  renderFirstRows(body);
  $('first-rows-box').hidden = false;
}

function renderFirstRows(body) {
  const names = (body.columns || []).map((column) => column.name);
  const head = el('tr');
  for (const name of names) {
    const th = el('th', name);
    th.scope = 'col';
    head.append(th);
  }
  const rows = body.first_rows.map((row) => {
    const tr = el('tr');
    for (const value of row) tr.append(el('td', value === null ? 'NULL' : value));
    return tr;
  });
  const table = $('first-rows');
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...rows);
}

// Offers `name` in the view filter's suggestions.
function rememberView(name) {
  if (!name) return;
  const list = $('known-views');
  const known = Array.from(list.options).some((option) => option.value === name);
  if (!known) list.append(new Option(name, name));
}

// ---------------------------------------------------------------- live events

const live = {
  source: null,    // the open EventSource, if any
  filter: '',      // exact view name to show; empty shows all
  retryMs: kRetryFirstMs,
  retryTimer: 0,
};

// Status is one of: connecting, live, reconnecting, not available.
function setLiveStatus(state) {
  const badge = $('events-status');
  badge.textContent = state;
  badge.dataset.state = state.replace(' ', '-');
}

function eventsUrl() {
  return live.filter ? `/events?view=${encodeURIComponent(live.filter)}` : '/events';
}

// Opens the stream. While the browser retries by itself the status says "reconnecting";
// when it gives up, probeEvents decides between "not available" and a later retry.
function connectEvents() {
  closeEvents();
  setLiveStatus(live.retryMs === kRetryFirstMs ? 'connecting' : 'reconnecting');
  const source = new EventSource(eventsUrl());
  live.source = source;
  source.addEventListener('open', () => {
    live.retryMs = kRetryFirstMs;
    setLiveStatus('live');
  });
  source.addEventListener('message', (message) => onEventMessage(message.data));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) probeEvents();
    else setLiveStatus('reconnecting');
  });
}

function closeEvents() {
  clearTimeout(live.retryTimer);
  if (live.source) live.source.close();
  live.source = null;
}

// Asks GET /events for its status only (the body is not read). 404 means the server has no
// event stream: say so and stop. Anything else is trouble worth retrying with back-off.
async function probeEvents() {
  closeEvents();
  const status = await fetchStatus(eventsUrl());
  if (status === 404) {
    showEventsUnavailable();
    return;
  }
  setLiveStatus('reconnecting');
  live.retryTimer = setTimeout(connectEvents, live.retryMs);
  live.retryMs = Math.min(live.retryMs * 2, kRetryMaxMs);
}

// Returns the HTTP status of GET `url` (0 when unreachable) and aborts the body.
async function fetchStatus(url) {
  const abort = new AbortController();
  try {
    const reply = await fetch(url, { signal: abort.signal, cache: 'no-store' });
    return reply.status;
  } catch (_) {
    return 0;
  } finally {
    abort.abort();
  }
}

function showEventsUnavailable() {
  setLiveStatus('not available');
  $('filter-form').hidden = true;
  $('events').hidden = true;
  $('events-note').textContent =
    'This server does not stream events yet (GET /events is not served). Uploads still work.';
}

function onEventMessage(data) {
  let event;
  try {
    event = JSON.parse(data);
  } catch (_) {
    return;  // not an event of ours; the stream goes on
  }
  rememberView(event.view);
  addEvent(event);
}

// Puts `event` on top of the list, once per (view, seq, as_of), keeping at most kMaxEvents.
// A reconnect may deliver an event again; a recreated view starts its seq over.
function addEvent(event) {
  const list = $('events');
  const key = `${event.view}#${event.seq}#${event.as_of}`;
  const seen = Array.from(list.children).some((item) => item.dataset.key === key);
  if (seen) return;
  const item = renderEvent(event);
  item.dataset.key = key;
  item.hidden = !matchesFilter(event.view);
  list.prepend(item);
  while (list.children.length > kMaxEvents) list.lastElementChild.remove();
}

function matchesFilter(view) {
  return !live.filter || view === live.filter;
}

// An event as an <li>: its second, view, sequence number and rows. data-view and data-as-of
// carry the raw values for scripts and tests.
function renderEvent(event) {
  const item = el('li', null, 'event');
  item.dataset.view = event.view;
  item.dataset.seq = event.seq;
  item.dataset.asOf = event.as_of;
  item.append(renderEventHead(event), renderEventRows(event));
  return item;
}

function renderEventHead(event) {
  const head = el('div', null, 'event-head');
  const time = el('time', null, 'event-time');
  time.dateTime = event.as_of;
  const clock = String(event.as_of).slice(11, 19);  // RFC 3339: HH:MM:SS at 11..19
  time.append(el('span', clock.slice(0, -1)), el('span', clock.slice(-1), 'event-digit'));
  time.append(el('span', ' UTC', 'muted'));
  head.append(time, el('code', event.view, 'event-view'));
  head.append(el('span', `#${event.seq} · ${plural(event.row_count, 'row')}`, 'muted'));
  return head;
}

function renderEventRows(event) {
  const table = el('table', null, 'data compact');
  const headRow = el('tr');
  for (const name of event.columns || []) {
    const th = el('th', name);
    th.scope = 'col';
    headRow.append(th);
  }
  table.createTHead().append(headRow);
  const body = table.createTBody();
  const rows = event.rows || [];
  for (const row of rows.slice(0, kMaxEventRows)) {
    const tr = el('tr');
    for (const value of row) tr.append(el('td', value === null ? 'NULL' : value));
    body.append(tr);
  }
  if (rows.length > kMaxEventRows) {
    const cell = el('td', `and ${plural(rows.length - kMaxEventRows, 'more row')}`, 'muted');
    cell.colSpan = Math.max(1, (event.columns || []).length);
    table.createTFoot().insertRow().append(cell);
  }
  return table;
}

// Applies the view filter to the events already shown and reconnects with ?view=.
function onFilter(event) {
  event.preventDefault();
  live.filter = $('view-filter').value.trim();
  for (const item of $('events').children) item.hidden = !matchesFilter(item.dataset.view);
  live.retryMs = kRetryFirstMs;
  connectEvents();
}

// ---------------------------------------------------------------- start

function start() {
  setupDropZone();
  showChosenFile();
  $('upload-form').addEventListener('submit', onSubmit);
  $('filter-form').addEventListener('submit', onFilter);
  $('view-form').addEventListener('submit', onCreateView);
  loadCatalog();
  setInterval(loadCatalog, kCatalogEveryMs);
  if ('EventSource' in window) connectEvents();
  else showEventsUnavailable();
}

document.addEventListener('DOMContentLoaded', start);
