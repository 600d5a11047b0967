import { createHash } from 'node:crypto';

/**
 * The Content-Security-Policy of the web UI's pages: scripts only from this origin (plus the
 * inline theme script of index.html, allowed by its hash), no plugins, no framing, no form
 * posts elsewhere, and connections (API, events, terminal websocket) only to this origin.
 * 'wasm-unsafe-eval' lets the recording player compile its WebAssembly terminal emulator;
 * inline styles are needed by xterm.js and the player, which style cells at run time.
 */
export function pageContentSecurityPolicy(indexHtml: string): string {
  const hashes = inlineScripts(indexHtml).map((body) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`);
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The bodies of <script> elements without a src, exactly as the browser hashes them. */
export function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]!);
}

/** For pages the server writes itself (the 403 page): no script at all. */
export const STATIC_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The API docs (Swagger UI): its own scripts and styles only, nothing inline but styles. */
export const DOCS_CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
