import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** How often the dashboard page refreshes its data, in ms. */
export const DASHBOARD_REFRESH_MS = 5_000;

// The page's files sit in ./dashboard/ beside this module, in src as in dist (the build copies
// them); they are read once, when the hub starts.
const read = (name: string): string =>
  readFileSync(new URL(`./dashboard/${name}`, import.meta.url), 'utf8');
const STYLE = read('page.css');
const SCRIPT = read('page.js');

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** Puts `value` where the page has `slot`, which it must have exactly once. */
function fill(page: string, slot: string, value: string): string {
  const parts = page.split(slot);
  if (parts.length !== 2) throw new Error(`dashboard/page.html must hold ${slot} once`);
  return parts.join(value);
}

/** The dashboard page: one self-contained HTML document (inline CSS and JS, no external requests). */
export const DASHBOARD_HTML = [
  ['<!-- page.css -->', `<style>${STYLE}</style>`],
  ['<!-- page.js -->', `<script>${SCRIPT}</script>`],
  ['data-refresh-ms=""', `data-refresh-ms="${String(DASHBOARD_REFRESH_MS)}"`],
].reduce((page, [slot = '', value = '']) => fill(page, slot, value), read('page.html'));

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
