// qnlab's check of the course in a real browser (make e2e; scripts/e2e/run sets it up).
//
// 1. Starts Debian's classic Notebook server on 127.0.0.1 with a token and the project's GoNB
//    kernelspec (QUICK=1 in its environment, so every notebook runs its small workloads), and
//    drives headless Chromium through Kernel → Restart & Run All on every notebook: every code
//    cell must run without an error output, every cell that shows a figure (nb.Show) must hold
//    an inline SVG; a screenshot of each notebook goes to build/e2e/NAME.png. Autosave is off:
//    the notebooks on disk are not changed. The server is stopped at the end.
// 2. Opens the rendered site (site/index.html, from file://) and follows its links: the index
//    to every chapter, each chapter's sidebar, previous/next chain, download link, and a search.
//
// Usage: node e2e.mjs --repo DIR [--site DIR] [--out DIR] [--only NAME.ipynb,...] [--skip-notebooks]
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
  return acc;
}, []));
const repo = path.resolve(args.repo || '.');
const out = path.resolve(args.out || path.join(repo, 'build/e2e'));
const site = path.resolve(args.site || path.join(repo, 'site'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const cellTimeout = Number(process.env.E2E_NOTEBOOK_TIMEOUT || 1200) * 1000;
fs.mkdirSync(out, { recursive: true });

const failures = [];
const fail = (msg) => { failures.push(msg); console.error('e2e: FAIL: ' + msg); };
const log = (msg) => console.log('e2e: ' + msg);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

async function startServer() {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const env = { ...process.env, QUICK: '1', JUPYTER_DATA_DIR: path.join(repo, '.jupyter') };
  const server = spawn('jupyter-notebook', ['--no-browser', '--ip=127.0.0.1', `--port=${port}`,
    `--NotebookApp.token=${token}`, '--NotebookApp.open_browser=False',
    `--NotebookApp.notebook_dir=${path.join(repo, 'notebooks')}`, ...(process.getuid() === 0 ? ['--allow-root'] : [])], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = fs.createWriteStream(path.join(out, 'notebook-server.log'));
  server.stdout.pipe(logFile); server.stderr.pipe(logFile);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      if (r.ok) return { server, base, token };
      if (r.status === 403) fail('the Notebook server refused its own token');
    } catch { /* not up yet */ }
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the Notebook server did not start (see ${path.join(out, 'notebook-server.log')})`);
}

function stopServer(server) {
  try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
}

async function runNotebook(page, base, token, name) {
  const t0 = Date.now();
  await page.goto(`${base}/notebooks/${encodeURIComponent(name)}?token=${token}`);
  await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded &&
    Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected(), null, { timeout: 120000 });
  await page.evaluate(() => Jupyter.notebook.set_autosave_interval(0));
  // Kernel → Restart & Run All, through the menu and its confirmation dialog.
  await page.click('#kernellink');
  await page.click('#restart_run_all');
  await page.click('.modal-dialog button.btn-danger');
  // Done when the kernel is idle and every code cell has an execution count.
  await page.waitForFunction(() => {
    const cells = Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
    const idle = document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null;
    return idle && cells.every((c) => typeof c.input_prompt_number === 'number');
  }, null, { timeout: cellTimeout, polling: 1000 });
  const report = await page.evaluate(() => Jupyter.notebook.get_cells().map((c, i) => {
    if (c.cell_type !== 'code') return null;
    const outs = c.output_area.outputs;
    const errors = outs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`);
    const stderr = outs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => o.text).join('');
    if (/panic:|\bERROR\b|exit status [1-9]/.test(stderr)) errors.push('stderr: ' + stderr.slice(0, 300));
    const src = c.get_text();
    return { index: i, first: src.split('\n')[0], wantsFigure: /nb\.Show\(/.test(src),
      svgs: c.output_area.element[0].querySelectorAll('svg').length, errors };
  }).filter((x) => x));
  for (const c of report) {
    if (c.errors.length) fail(`${name} cell ${c.index} (${c.first}): ${c.errors.join('; ')}`);
    if (c.wantsFigure && c.svgs === 0) fail(`${name} cell ${c.index} (${c.first}): no inline SVG figure`);
  }
  const figures = report.reduce((n, c) => n + c.svgs, 0);
  // The classic Notebook scrolls inside #site: let the page grow so the screenshot holds it all.
  await page.addStyleTag({ content: 'html, body, #site { height: auto !important; overflow: visible !important; }' });
  await page.screenshot({ path: path.join(out, name.replace(/\.ipynb$/, '.png')), fullPage: true });
  log(`${name}: ${report.length} code cells ran, ${figures} inline SVG figure(s), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

async function checkSite(page) {
  const index = path.join(site, 'index.html');
  if (!fs.existsSync(index)) { fail(`no rendered site at ${index} (run make html)`); return; }
  const url = (p) => pathToFileURL(path.join(site, p)).href;
  await page.goto(url('index.html'));
  const chapters = await page.$$eval('.chapter h2 a', (as) => as.map((a) => a.getAttribute('href')));
  if (chapters.length === 0) fail('the index links no chapter');
  for (const href of chapters) {
    await page.goto(url('index.html'));
    await page.click(`.chapter h2 a[href="${href}"]`);
    await page.waitForLoadState('load');
    if (!page.url().endsWith(href)) fail(`index → ${href} landed on ${page.url()}`);
    const side = await page.$$eval('.qn-side li a', (as) => as.map((a) => a.getAttribute('href')));
    if (side.length !== chapters.length - 1) fail(`${href}: the sidebar links ${side.length} other chapters, want ${chapters.length - 1}`);
    const dl = await page.$eval('.qn-download', (a) => a.getAttribute('href'));
    if (!fs.existsSync(path.join(site, decodeURIComponent(dl)))) fail(`${href}: the download ${dl} is missing`);
  }
  // The next-link chain from the first chapter visits every chapter and returns to the index.
  await page.goto(url(chapters[0]));
  const seen = [chapters[0]];
  for (let i = 0; i < chapters.length; i++) {
    await page.click('.qn-pager a[rel="next"] >> nth=0');
    await page.waitForLoadState('load');
    const here = decodeURIComponent(path.basename(new URL(page.url()).pathname));
    if (here === 'index.html') break;
    seen.push(here);
  }
  if (seen.join() !== chapters.map(decodeURIComponent).join()) fail(`next links visit ${seen.join(', ')}, want ${chapters.join(', ')}`);
  // Search from a chapter's sidebar.
  await page.goto(url(chapters[0]));
  await page.fill('.qn-side input[name="q"]', 'two-loop recursion');
  await page.press('.qn-side input[name="q"]', 'Enter');
  await page.waitForSelector('.hit', { timeout: 10000 }).catch(() => fail('the search for "two-loop recursion" found nothing'));
  const hit = await page.$('.hit a');
  if (hit) {
    const target = await hit.getAttribute('href');
    await hit.click();
    await page.waitForLoadState('load');
    const frag = decodeURIComponent(new URL(page.url()).hash.slice(1));
    if (frag && !(await page.evaluate((id) => !!document.getElementById(id) || !!document.getElementById(encodeURI(id)), frag))) {
      fail(`search result ${target} points at a missing anchor`);
    }
  }
  await page.goto(url('index.html'));
  await page.screenshot({ path: path.join(out, 'site-index.png'), fullPage: false });
  log(`site: ${chapters.length} chapters linked from the index, sidebars, next chain, downloads and search checked`);
}

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
let server;
try {
  if (!args['skip-notebooks']) {
    try {
      const s = await startServer();
      server = s.server;
      const names = args.only ? String(args.only).split(',') :
        fs.readdirSync(path.join(repo, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
      for (const n of names) {
        try { await runNotebook(page, s.base, s.token, n); } catch (e) { fail(`${n}: ${e.message.split('\n')[0]}`); }
      }
    } catch (e) {
      fail(e.message);
    }
  }
  await checkSite(page);
} catch (e) {
  fail(e.message);
} finally {
  if (server) stopServer(server);
  await browser.close();
}
if (failures.length) {
  console.error(`e2e: ${failures.length} failure(s)`);
  process.exit(1);
}
log(`all checks passed; screenshots in ${out}`);
