// Browser test of the upload page against a running tinydevcrm, in Debian's chromium.
//
//   node upload_test.mjs --base-url http://127.0.0.1:8080 --cases DIR [--out DIR]
//
// Needs a database where the table `reference` and the views `digits_even` and
// `broken_view` do not exist yet (a name can be used once). Cases: upload DIR/reference.csv
// and read the result; see its first rows, the table and its view in "Tables and views";
// follow the live events when GET /events is served (skipped, not passed, while it answers
// 404); upload DIR/ragged_rows.csv and read the error; create a view from SQL and see it
// listed; submit bad SQL and read PostgreSQL's error. Screenshots go to --out. The last
// line printed is "N passed, M failed"; the exit code is 0 only when nothing failed.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const kChromium = '/usr/bin/chromium';
const kChromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Deadlines. An upload of a small file takes well under a second; events come once a second.
const kPageMs = 15000;
const kUploadMs = 30000;
const kEventsMs = 20000;
const kProbeMs = 5000;
// The page reloads its tables-and-views list after each change and every 5 s.
const kCatalogMs = 15000;

const kView = 'reference_current_second';

// Thrown by a case that cannot run here, with the whole reason as message; the runner
// prints it after SKIP and counts it neither passed nor failed.
class Skip extends Error {}

function readOptions() {
  const { values } = parseArgs({
    options: {
      'base-url': { type: 'string' },
      cases: { type: 'string' },
      out: { type: 'string', default: 'output' },
    },
  });
  if (!values['base-url'] || !values.cases) {
    console.error('usage: node upload_test.mjs --base-url URL --cases DIR [--out DIR]');
    process.exit(2);
  }
  return { baseUrl: values['base-url'].replace(/\/+$/, ''), cases: values.cases, out: values.out };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Returns the HTTP status of GET `url` without reading its body (an event stream never
// ends), or 0 when the server cannot be reached within kProbeMs.
async function httpStatus(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), kProbeMs);
  try {
    const reply = await fetch(url, { signal: abort.signal });
    return reply.status;
  } catch (_) {
    return 0;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

// Picks `file` with the file chooser, clicks Upload, and waits until the page shows either
// the result or an error. Returns which one: 'result' or 'error'.
async function upload(page, file) {
  await page.locator('#file').setInputFiles(file);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const shown = page.locator('#result:visible, #error:visible');
  await shown.first().waitFor({ state: 'visible', timeout: kUploadMs });
  await page.locator('#upload-button:enabled').waitFor({ timeout: kUploadMs });
  return (await page.locator('#error').isVisible()) ? 'error' : 'result';
}

// Saves the whole page as `name` under --out, animations finished.
async function screenshot(page, options, name) {
  const file = path.join(options.out, name);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
}

async function errorText(page) {
  return (await page.locator('#error').innerText()).replace(/\s+/g, ' ').trim();
}

async function uploadReference({ page, options }) {
  await page.goto(`${options.baseUrl}/`, { timeout: kPageMs });
  const shown = await upload(page, path.join(options.cases, 'reference.csv'));
  check(shown === 'result', `upload of reference.csv was refused: ${await errorText(page)}`);

  const table = await page.locator('#result-table').innerText();
  check(table === 'reference', `table name: expected "reference", got "${table}"`);
  const rows = await page.locator('#result-rows').innerText();
  check(rows === '10', `row count: expected 10, got "${rows}"`);
  const column = page.locator('#result-columns tbody tr', { hasText: 'AColumnOfNumbers' });
  check(await column.count() === 1, 'column AColumnOfNumbers is not listed');
  const type = await column.locator('td').nth(1).innerText();
  check(type === 'integer', `type of AColumnOfNumbers: expected "integer", got "${type}"`);

  await screenshot(page, options, 'reference_result.png');
}

// Reads the events shown for kView: [{asOf, firstCells: [text of each row's first cell]}].
async function shownEvents(page) {
  return page.locator(`#events li.event[data-view="${kView}"]:visible`).evaluateAll((items) =>
    items.map((item) => ({
      asOf: item.dataset.asOf,
      time: item.querySelector('time').textContent,
      firstCells: Array.from(item.querySelectorAll('tbody tr'),
        (row) => row.cells[0].textContent.trim()),
    })));
}

async function liveEvents({ page, options }) {
  const status = await httpStatus(`${options.baseUrl}/events`);
  if (status === 404) throw new Skip('live events: /events not served yet');
  check(status === 200, `GET /events answered ${status || 'nothing'}, expected 200`);

  await page.locator('#view-filter').fill(kView);
  await page.locator('#view-filter').press('Enter');
  await page.locator('#events-status', { hasText: /^live$/ }).waitFor({ timeout: kEventsMs });
  await page.waitForFunction(
    (view) => document.querySelectorAll(`#events li.event[data-view="${view}"]`).length >= 2,
    kView, { timeout: kEventsMs });

  for (const event of (await shownEvents(page)).slice(0, 2)) {
    const digit = event.asOf.charAt(18);  // RFC 3339: the second's last digit
    check(/^\d$/.test(digit), `as_of is not RFC 3339: "${event.asOf}"`);
    const clock = event.asOf.slice(11, 19);
    check(event.time.includes(clock), `event ${event.asOf} shows "${event.time}", not ${clock}`);
    check(event.firstCells.includes(digit),
      `event as_of ${event.asOf} shows rows [${event.firstCells}], expected one equal to ${digit}`);
  }
  await screenshot(page, options, 'live_events.png');
}

async function uploadRagged({ page, options }) {
  if (page.url() === 'about:blank') await page.goto(`${options.baseUrl}/`, { timeout: kPageMs });
  const shown = await upload(page, path.join(options.cases, 'ragged_rows.csv'));
  check(shown === 'error', 'ragged_rows.csv was accepted, expected a refusal');

  const alert = page.getByRole('alert');
  check(await alert.isVisible(), 'the error is not shown in a role="alert" element');
  const text = await errorText(page);
  check(/\bline 3\b/.test(text), `the error does not name line 3: ${text}`);
  check(/\bline 4\b/.test(text), `the error does not name line 4: ${text}`);

  await screenshot(page, options, 'ragged_rows_error.png');
}

// Waits until the list `listId` ("tables-list" or "views-list") shows an item for `name`.
async function waitListed(page, listId, name) {
  const item = page.locator(`#${listId} li[data-name="${name}"]`);
  await item.waitFor({ state: 'visible', timeout: kCatalogMs });
  return item;
}

async function catalogAfterUpload({ page, options }) {
  const firstRows = page.locator('#first-rows tbody tr');
  await page.locator('#first-rows-box').waitFor({ state: 'visible', timeout: kCatalogMs });
  const cells = await firstRows.evaluateAll((rows) => rows.map((r) => r.cells[0].textContent));
  check(cells.join(',') === '0,1,2,3,4,5,6,7,8,9',
    `first rows of reference: expected 0..9, got [${cells}]`);

  await waitListed(page, 'tables-list', 'reference');
  const view = await waitListed(page, 'views-list', kView);
  const facts = (await view.innerText()).replace(/\s+/g, ' ');
  check(/\d+ events?\b/.test(facts), `view ${kView} shows no event count: ${facts}`);
  await screenshot(page, options, 'catalog_after_upload.png');
}

// Fills the create-view form with `name` and `sql`, clicks Create, and waits until the
// page answers: the view listed or an error shown. Returns 'listed' or 'error'.
async function createView(page, name, sql) {
  await page.locator('#view-name').fill(name);
  await page.locator('#view-sql').fill(sql);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const shown = page.locator(`#views-list li[data-name="${name}"], #view-error:visible`);
  await shown.first().waitFor({ state: 'visible', timeout: kCatalogMs });
  return (await page.locator('#view-error').isVisible()) ? 'error' : 'listed';
}

async function viewErrorText(page) {
  return (await page.locator('#view-error').innerText()).replace(/\s+/g, ' ').trim();
}

async function createViewFromSql({ page, options }) {
  const sql = 'SELECT * FROM reference WHERE "AColumnOfNumbers" % 2 = 0';
  const shown = await createView(page, 'digits_even', sql);
  check(shown === 'listed', `view digits_even was refused: ${await viewErrorText(page)}`);
  const status = await page.locator('#view-status').innerText();
  check(status.includes('digits_even'), `the status does not name digits_even: "${status}"`);
  await screenshot(page, options, 'view_created.png');
}

async function createViewBadSql({ page, options }) {
  const shown = await createView(page, 'broken_view', 'SELECT * FROM nope');
  check(shown === 'error', 'SELECT * FROM nope was accepted, expected a refusal');
  const alert = page.locator('#view-form').getByRole('alert');
  check(await alert.isVisible(), 'the SQL error is not shown in a role="alert" element');
  const text = await viewErrorText(page);
  check(/\bnope\b/.test(text), `the SQL error does not mention nope: ${text}`);
  const listed = await page.locator('#views-list li[data-name="broken_view"]').count();
  check(listed === 0, 'the refused view broken_view is listed');
  await screenshot(page, options, 'view_bad_sql.png');
}

const kCases = [
  ['upload reference.csv shows its table', uploadReference],
  ['first rows, table and view are listed after the upload', catalogAfterUpload],
  ['live events show the current second', liveEvents],
  ['upload ragged_rows.csv names lines 3 and 4', uploadRagged],
  ['a view created from SQL is listed', createViewFromSql],
  ['bad SQL shows the PostgreSQL error', createViewBadSql],
];

// Runs every case in one page, in order (later cases follow the first upload). A case
// also fails when the page threw an uncaught exception while it ran. Returns {passed, failed}.
async function runCases(page, options) {
  const counts = { passed: 0, failed: 0 };
  const pageErrors = watchPage(page);
  for (const [name, run] of kCases) {
    const errorsBefore = pageErrors.length;
    try {
      await run({ page, options });
      check(pageErrors.length === errorsBefore, `the page threw: ${pageErrors.at(-1)}`);
      counts.passed += 1;
      console.log(`PASS ${name}`);
    } catch (error) {
      if (error instanceof Skip) {
        console.log(`SKIP ${error.message}`);
        continue;
      }
      counts.failed += 1;
      console.log(`FAIL ${name}: ${error.message.split('\n')[0]}`);
    }
  }
  return counts;
}

// Endpoints whose error statuses the page handles itself (optional or refused uploads).
const kQuietPaths = ['/events', '/tables', '/views', '/upload-file'];

// Prints what the page itself reported as wrong: uncaught exceptions and console errors,
// less failed loads of kQuietPaths. Returns the list that uncaught exceptions are added to.
function watchPage(page) {
  const pageErrors = [];
  page.on('pageerror', (error) => {
    pageErrors.push(error.message);
    console.log(`page error: ${error.message}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location().url || '';
    const quiet = kQuietPaths.some((p) => url && new URL(url).pathname === p);
    if (!quiet) console.log(`page console: ${message.text()} ${url}`.trim());
  });
  return pageErrors;
}

async function main() {
  const options = readOptions();
  await mkdir(options.out, { recursive: true });
  let counts = { passed: 0, failed: kCases.length };
  let browser = null;
  try {
    browser = await chromium.launch({
      executablePath: kChromium, headless: true, args: kChromiumArgs });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    counts = await runCases(page, options);
  } catch (error) {
    console.log(`FAIL browser: ${error.message.split('\n')[0]}`);
  } finally {
    if (browser) await browser.close();
  }
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed === 0 ? 0 : 1);
}

await main();
