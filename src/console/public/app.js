/* global Node, URLSearchParams */
// The Log stream page. Plain DOM, no framework. Every value shown comes from logs or sites, which are
// untrusted: text goes through textContent, never innerHTML.
import { HeaderEventSource } from './event-stream.js';
import { highlightParts, searchPattern } from './highlight.js';

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 5000;
const MAX_PAUSED = 10000;
/**
 * Sent on every API request, the live stream included (HeaderEventSource: EventSource cannot send
 * headers). The console also takes its own page's requests by Sec-Fetch-Site where browsers send it.
 */
const API_HEADERS = { 'x-requested-by': 'berth' };

/** Creates an element; children are strings (set as text) or elements. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = !message;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json', ...API_HEADERS } });
  const body = await response.json().catch(() => undefined);
  if (!response.ok)
    throw Object.assign(new Error(body?.detail ?? `${response.status} ${response.statusText}`), {
      status: response.status,
    });
  return body;
}

function fillSelect(select, values, allLabel = 'All') {
  const current = select.value;
  select.replaceChildren(
    ...(allLabel !== null ? [el('option', { value: '' }, allLabel)] : []),
    ...values.map((v) => el('option', { value: v }, v)),
  );
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

const unique = (values) => [...new Set(values.filter((v) => v !== ''))].sort();

/**
 * Answers can arrive out of order when filters change quickly: each load of a view takes a ticket,
 * and only the holder of the latest ticket for that view may show its answer. `take('logs')` makes a
 * new ticket (superseding the others); `current('logs')` checks one without taking a new one.
 */
const tickets = new Map();
const take = (view) => {
  const ticket = (tickets.get(view) ?? 0) + 1;
  tickets.set(view, ticket);
  return () => tickets.get(view) === ticket;
};
const current = (view) => {
  const ticket = tickets.get(view);
  return () => tickets.get(view) === ticket;
};

// ---------------------------------------------------------------- tabs

function showTab() {
  const tab = (location.hash || '#logs').slice(1);
  for (const name of ['logs', 'startup', 'sites']) {
    $(`tab-${name}`).hidden = name !== tab;
    document.querySelector(`nav a[data-tab="${name}"]`).classList.toggle('active', name === tab);
  }
  if (tab === 'startup') void loadStartup();
  if (tab === 'sites') void loadSites();
}

// ---------------------------------------------------------------- log stream

const state = { source: undefined, paused: false, held: [], next: undefined, pattern: undefined, shown: 0 };

function filterParams() {
  const params = new URLSearchParams();
  for (const key of ['site', 'slot', 'instance', 'type', 'level']) {
    const value = $(key).value;
    if (value) params.set(key, value);
  }
  const search = $('search').value.trim();
  if (search) params.set($('regex').checked ? 'regex' : 'q', search);
  const range = $('range').value;
  if (range === '15m' || range === '1h' || range === '1d') params.set('since', range);
  if (range === 'custom') {
    if ($('from').value) params.set('from', new Date($('from').value).toISOString());
    if ($('to').value) params.set('to', new Date($('to').value).toISOString());
  }
  return params;
}

function lineRow(entry) {
  const message = el('td', { class: 'msg' });
  for (const part of highlightParts(entry.message, state.pattern)) {
    message.append(part.mark ? el('mark', {}, part.text) : document.createTextNode(part.text));
  }
  return el(
    'tr',
    { class: `line-${entry.level}`, dataset: { id: String(entry.id) } },
    el('td', { title: new Date(entry.time).toISOString() }, new Date(entry.time).toLocaleString()),
    el('td', {}, `${entry.site}/${entry.slot}`),
    el('td', {}, entry.instance || '—'),
    el('td', {}, entry.type),
    el('td', {}, el('span', { class: `lvl lvl-${entry.level}` }, entry.level.toUpperCase())),
    message,
  );
}

function appendLines(entries) {
  const body = $('lines');
  const wrap = body.closest('.logs-wrap');
  const atBottom = wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 30;
  const fragment = document.createDocumentFragment();
  for (const entry of entries) fragment.append(lineRow(entry));
  body.append(fragment);
  while (body.rows.length > MAX_ROWS) body.deleteRow(0);
  state.shown = body.rows.length;
  updateCount();
  if (atBottom) wrap.scrollTop = wrap.scrollHeight;
}

function updateCount() {
  $('count').textContent =
    `· ${state.shown} line(s) shown${state.held.length ? `, ${state.held.length} new while paused` : ''}`;
}

function stopLive() {
  state.source?.close();
  state.source = undefined;
}

async function apply() {
  const latest = take('logs');
  stopLive();
  showError('');
  state.pattern = searchPattern($('search').value.trim(), $('regex').checked);
  state.held = [];
  state.paused = false;
  $('pause').textContent = 'Pause';
  $('lines').replaceChildren();
  state.shown = 0;
  const params = filterParams();
  const live = $('range').value === 'live';
  $('pause').hidden = !live;
  // One history request first: it shows the recent lines and checks the filter (a bad regex is a 400 with the reason).
  let page;
  try {
    page = await getJson(`/api/logs?${params}&limit=${live ? 200 : 500}`);
  } catch (error) {
    if (!latest()) return;
    showError(`Cannot load logs: ${error.message}`);
    $('status').textContent = 'Not connected';
    return;
  }
  // Filters changed while this page was loading: a newer apply() shows its own lines and stream.
  if (!latest()) return;
  appendLines(page.entries.slice().reverse());
  state.next = page.next;
  $('older').hidden = !page.next;
  if (!live) {
    $('status').textContent = 'Historical view';
    return;
  }
  const newest = page.entries[0]?.id;
  if (newest) params.set('lastEventId', String(newest));
  const source = new HeaderEventSource(`/api/logs/stream?${params}`, API_HEADERS);
  state.source = source;
  source.addEventListener('open', () => ($('status').textContent = state.paused ? 'Paused' : 'Live'));
  source.addEventListener('error', () => ($('status').textContent = 'Reconnecting…'));
  source.addEventListener('log', (event) => {
    const entry = JSON.parse(event.data);
    if (state.paused) {
      if (state.held.length < MAX_PAUSED) state.held.push(entry);
      updateCount();
    } else {
      appendLines([entry]);
    }
  });
  // The console ended the stream for good (its regex cost too much): reconnecting would repeat it.
  source.addEventListener('ended', (event) => {
    stopLive();
    $('status').textContent = 'Not connected';
    showError(`The live stream ended: ${JSON.parse(event.data).reason}`);
  });
  source.addEventListener('dropped', (event) =>
    showError(`The stream skipped ${JSON.parse(event.data).count} line(s): this page could not keep up.`),
  );
}

async function loadOlder() {
  if (!state.next) return;
  const latest = current('logs');
  const params = filterParams();
  params.set('cursor', state.next);
  try {
    const page = await getJson(`/api/logs?${params}&limit=500`);
    if (!latest()) return;
    const body = $('lines');
    const fragment = document.createDocumentFragment();
    for (const entry of page.entries.slice().reverse()) fragment.append(lineRow(entry));
    body.prepend(fragment);
    state.shown = body.rows.length;
    updateCount();
    state.next = page.next;
    $('older').hidden = !page.next;
  } catch (error) {
    if (latest()) showError(`Cannot load older lines: ${error.message}`);
  }
}

function togglePause() {
  state.paused = !state.paused;
  $('pause').textContent = state.paused ? 'Resume' : 'Pause';
  $('status').textContent = state.paused ? 'Paused' : 'Live';
  if (!state.paused) {
    const held = state.held;
    state.held = [];
    appendLines(held);
  }
  updateCount();
}

async function loadSources() {
  try {
    const [sources, sites] = await Promise.all([
      getJson('/api/logs/sources'),
      getJson('/api/sites').catch(() => []),
    ]);
    const fromSites = sites.flatMap((s) =>
      s.slots.flatMap((slot) =>
        slot.instances.map((i) => ({ site: s.name, slot: slot.name, instance: i.id })),
      ),
    );
    const all = [...sources, ...fromSites];
    fillSelect($('site'), unique(all.map((s) => s.site)));
    fillSelect($('slot'), unique(all.map((s) => s.slot)));
    fillSelect($('instance'), unique(all.map((s) => s.instance)));
    const siteNames = unique([...sites.map((s) => s.name), ...sources.map((s) => s.site)]);
    fillSelect($('startup-site'), siteNames, null);
    fillSelect($('startup-slot'), unique(all.map((s) => s.slot)));
  } catch (error) {
    showError(`Cannot load filter values: ${error.message}`);
  }
}

// ---------------------------------------------------------------- startup logs

function startupParams() {
  const params = new URLSearchParams();
  if ($('startup-site').value) params.set('site', $('startup-site').value);
  if ($('startup-slot').value) params.set('slot', $('startup-slot').value);
  return params;
}

async function loadStartup() {
  const latest = take('startup');
  const params = startupParams();
  const listParams = new URLSearchParams(params);
  if ($('startup-outcome').value) listParams.set('outcome', $('startup-outcome').value);
  try {
    const [list, summary] = await Promise.all([
      getJson(`/api/startuplogs?${listParams}`),
      getJson(`/api/startuplogs/summary?${params}`),
    ]);
    if (!latest()) return;
    const files = Array.isArray(list) ? list : (list.files ?? []);
    $('startup-files').replaceChildren(
      ...files.map((f) => {
        const row = el(
          'tr',
          { dataset: { name: f.name, site: f.site, slot: f.slot } },
          el('td', {}, f.name),
          el('td', {}, f.slot),
          el('td', {}, f.instance),
          el('td', { class: `outcome-${f.outcome}` }, f.outcome),
          el('td', {}, `${f.size} B`),
          el('td', {}, new Date(f.modified).toLocaleString()),
        );
        row.addEventListener('click', () =>
          showStartupLog(
            `/api/startuplogs/${encodeURIComponent(f.name)}?${new URLSearchParams({ site: f.site, slot: f.slot })}`,
            row,
          ),
        );
        return row;
      }),
    );
    if (files.length === 0)
      $('startup-files').append(el('tr', {}, el('td', { colspan: '6' }, 'No startup logs yet.')));
    $('startup-summary').replaceChildren(
      ...summary.map((s) =>
        el(
          'div',
          { class: 'card' },
          `${s.site}/${s.slot}: ${s.total} start(s), `,
          el('span', { class: 'outcome-failure' }, `${s.failures} failed`),
          ', ',
          el('span', { class: 'outcome-success' }, `${s.successes} succeeded`),
        ),
      ),
    );
  } catch (error) {
    if (!latest()) return;
    showError(
      error.status === 404
        ? 'Startup logs are not served by this console (no sites are managed here).'
        : `Cannot load startup logs: ${error.message}`,
    );
  }
}

async function showStartupLog(url, row) {
  const latest = take('startup-log');
  for (const r of $('startup-files').rows) r.classList.toggle('selected', r === row);
  const response = await fetch(url, { headers: API_HEADERS });
  const text = await response.text();
  if (!latest()) return;
  if (!response.ok) {
    let detail = text;
    try {
      detail = JSON.parse(text).detail ?? text;
    } catch {
      /* plain text */
    }
    showError(`Cannot show the startup log: ${detail}`);
    return;
  }
  showError('');
  $('startup-title').textContent = response.headers.get('x-startuplog-filename') ?? url;
  const lines = text.split('\n');
  const hints = lines.filter((l) => /^\s*HINT:/.test(l)).map((l) => l.replace(/^\s*HINT:\s*/, ''));
  $('startup-hints').replaceChildren(...hints.map((h) => el('li', {}, h)));
  $('startup-hints').hidden = hints.length === 0;
  $('startup-content').replaceChildren(
    ...lines.map((l) => el('span', { class: /^\s*HINT:/.test(l) ? 'hint-line' : '' }, `${l}\n`)),
  );
}

// ---------------------------------------------------------------- sites

async function loadSites() {
  let sites;
  try {
    sites = await getJson('/api/sites');
  } catch (error) {
    $('sites-list').replaceChildren(
      el(
        'p',
        {},
        error.status === 404
          ? 'No sites are managed by this console.'
          : `Cannot load sites: ${error.message}`,
      ),
    );
    return;
  }
  if (sites.length === 0)
    $('sites-list').replaceChildren(el('p', {}, 'No sites yet. Create one with: berth webapp create'));
  else $('sites-list').replaceChildren(...sites.map(siteCard));
}

function siteCard(site) {
  return el(
    'div',
    { class: 'site', dataset: { site: site.name } },
    el('h2', {}, site.name),
    el('div', { class: 'url' }, site.url, site.hostNames.length ? ` · ${site.hostNames.join(', ')}` : ''),
    ...site.slots.map((slot) =>
      el(
        'div',
        { class: 'slot' },
        el('h3', {}, `Slot ${slot.name} — `, el('span', { class: `state state-${slot.state}` }, slot.state)),
        el(
          'table',
          {},
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['Instance', 'State', 'Port', 'PID', 'Restarts', 'Started', 'Version'].map((h) =>
                el('th', {}, h),
              ),
            ),
          ),
          el(
            'tbody',
            {},
            ...slot.instances.map((i) =>
              el(
                'tr',
                {},
                el('td', {}, i.id),
                el('td', {}, el('span', { class: `state state-${i.state}` }, i.state)),
                el('td', {}, i.port),
                el('td', {}, i.pid ?? '—'),
                el('td', {}, i.restarts),
                el('td', {}, i.startedAt ? new Date(i.startedAt).toLocaleString() : '—'),
                el('td', {}, i.version ?? '—'),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- wiring

$('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  void apply();
});
for (const id of ['range', 'site', 'slot', 'instance', 'type', 'level', 'regex']) {
  $(id).addEventListener('change', () => {
    $('custom-range').hidden = $('range').value !== 'custom';
    if (id !== 'range' || $('range').value !== 'custom') void apply();
  });
}
$('pause').addEventListener('click', togglePause);
$('clear').addEventListener('click', () => {
  $('lines').replaceChildren();
  state.shown = 0;
  updateCount();
});
$('older').addEventListener('click', () => void loadOlder());
$('startup-refresh').addEventListener('click', () => void loadStartup());
for (const id of ['startup-site', 'startup-slot', 'startup-outcome'])
  $(id).addEventListener('change', () => void loadStartup());
$('startup-latest').addEventListener(
  'click',
  () => void showStartupLog(`/api/startuplogs?latest=true&${startupParams()}`, undefined),
);
window.addEventListener('hashchange', showTab);
setInterval(() => {
  if (!$('tab-sites').hidden) void loadSites();
}, 5000);

await loadSources();
showTab();
void apply();
