import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, with nothing that reaches beyond loopback.
 * Playwright gives every launch a fresh, temporary profile (its own --user-data-dir).
 * Every page is watched for Content-Security-Policy violations (see cspViolations).
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
  const violations: string[] = [];
  watched.set(browser, violations);
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    context.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) violations.push(`${msg.location().url}: ${msg.text()}`);
    });
    return context;
  };
  return browser;
}

const watched = new WeakMap<Browser, string[]>();

/** What the browser's pages refused under their Content-Security-Policy: a blocked script is a broken feature. */
export function cspViolations(browser: Browser): string[] {
  return watched.get(browser) ?? [];
}
