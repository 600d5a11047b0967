import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

let shotsDir: string | undefined;

/**
 * Where the browser tests save their screenshots: TWARGA_SCREENSHOTS_DIR, else test-results/screenshots
 * (git-ignored). Never docs/screenshots by default: a test run must not rewrite the committed
 * pictures; `npm run screenshots` refreshes them on purpose. The directory is printed at exit.
 */
export function screenshotsDir(): string {
  if (shotsDir) return shotsDir;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const dir = path.resolve(root, process.env.TWARGA_SCREENSHOTS_DIR || 'test-results/screenshots');
  mkdirSync(dir, { recursive: true });
  process.once('exit', () => console.log(`screenshots in ${dir}`));
  return (shotsDir = dir);
}

/** What the pages of one browser did that a test may need to know. */
interface Watch {
  /** Refusals under the Content-Security-Policy: a blocked script is a broken feature. */
  csp: string[];
  /** Uncaught exceptions in a page. */
  pageErrors: string[];
  /** Console errors, failed requests and requests never answered: context for a failure. */
  trouble: string[];
  pending: Map<unknown, { line: string; started: number }>;
}

/** A request slower than this is worth a line in browserTrouble. */
const SLOW_MS = 5_000;

const watches = new WeakMap<Browser, Watch>();

/**
 * Debian's Chromium, headless, with nothing that reaches beyond loopback.
 * Playwright gives every launch a fresh, temporary profile (its own --user-data-dir).
 * Every page is watched: see cspViolations, pageErrors and browserTrouble.
 */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const watch: Watch = { csp: [], pageErrors: [], trouble: [], pending: new Map() };
  watches.set(browser, watch);
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    observe(context, watch);
    return context;
  };
  return browser;
}

function observe(context: BrowserContext, watch: Watch): void {
  const at = () => new Date().toISOString().slice(11, 23);
  context.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) watch.csp.push(`${msg.location().url}: ${msg.text()}`);
    // The tests provoke 4xx answers on purpose; the browser logs each as an error.
    else if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) watch.trouble.push(`${at()} console error: ${msg.text()}`);
  });
  context.on('page', (page) => {
    page.on('pageerror', (err) => watch.pageErrors.push(`${page.url()}: ${err.message}`));
    page.on('crash', () => watch.trouble.push(`${at()} the page crashed: ${page.url()}`));
  });
  context.on('request', (r) => {
    // The live events stream stays open by design.
    if (!r.url().endsWith('/api/events/stream')) watch.pending.set(r, { line: `${at()} ${r.method()} ${r.url()}`, started: Date.now() });
  });
  context.on('requestfinished', (r) => {
    const p = watch.pending.get(r);
    watch.pending.delete(r);
    if (p && Date.now() - p.started > SLOW_MS) watch.trouble.push(`slow: ${p.line} took ${((Date.now() - p.started) / 1000).toFixed(1)} s`);
  });
  context.on('requestfailed', (r) => {
    watch.pending.delete(r);
    // Leaving a page aborts its open requests (the events stream, a refetch): that is no trouble.
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
    watch.trouble.push(`${at()} request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText ?? '?'}`);
  });
}

/** What the browser's pages refused under their Content-Security-Policy. */
export function cspViolations(browser: Browser): string[] {
  return watches.get(browser)?.csp ?? [];
}

/** Uncaught exceptions the pages threw. */
export function pageErrors(browser: Browser): string[] {
  return watches.get(browser)?.pageErrors ?? [];
}

/** Console errors, failed requests and requests still unanswered, oldest first: printed when a test fails. */
export function browserTrouble(browser: Browser): string[] {
  const w = watches.get(browser);
  return w ? [...w.trouble, ...[...w.pending.values()].map((p) => `still unanswered: ${p.line}`)] : [];
}
