import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { AgenticError } from '../lib/errors.js';
import { readTextIfExists } from '../lib/fs.js';

/** Shortest bearer token accepted for the MCP HTTP transport. */
export const MIN_TOKEN_LENGTH = 16;

/** Path of the generated MCP bearer token: `<CoreRoot>/mcp.token`. */
export function mcpTokenPath(coreRoot: string): string {
  return join(coreRoot, 'mcp.token');
}

/** Throws USAGE (field `mcp-token`) unless the token is at least 16 characters without whitespace. */
export function validateToken(token: string): string {
  if (token.length < MIN_TOKEN_LENGTH || /[\s\p{Cc}]/u.test(token))
    throw new AgenticError(
      'USAGE',
      `mcp-token must be at least ${MIN_TOKEN_LENGTH} characters without whitespace`,
      { field: 'mcp-token' },
    );
  return token;
}

/**
 * The token in `<CoreRoot>/mcp.token`, created (256 random bits, `agm_` + base64url, mode
 * 0600, written to a temp file and renamed into place) when the file is missing or unusable.
 * An existing token is kept so configured clients keep working across restarts; its mode is
 * tightened to 0600.
 */
export function loadOrCreateToken(coreRoot: string): {
  token: string;
  path: string;
  created: boolean;
} {
  const path = mcpTokenPath(coreRoot);
  const existing = readTextIfExists(path)?.trim();
  if (existing !== undefined && existing.length >= MIN_TOKEN_LENGTH && !/\s/.test(existing)) {
    chmodSync(path, 0o600);
    return { token: existing, path, created: false };
  }
  mkdirSync(coreRoot, { recursive: true });
  const token = `agm_${randomBytes(32).toString('base64url')}`;
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return { token, path, created: true };
}

/** Compares a presented token with the expected one in constant time (hashes first, so lengths leak nothing). */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(expected), digest(presented));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}
