import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { AgenticError } from '../lib/errors.js';
import type { HubStorage, TokenRow } from './storage/index.js';
import { parseAgentId } from './wire.js';

/** Prefix of every hub token, so a leaked one is recognisable by secret scanners. */
export const TOKEN_PREFIX = 'agh_';

/** Characters of a token's hash shown as its id by `hub token list` (enough to be unique in practice, useless to an attacker). */
export const TOKEN_ID_LENGTH = 12;

/** What a token may do: act as one agent, read the whole fleet (`viewer`), or everything (`admin`). */
export type TokenRole = 'agent' | 'viewer' | 'admin';

/** SHA-256 (hex) of a token: what the hub stores and looks up (tokens are 256-bit random, so no salt or slow hash is needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The role a stored token carries. */
export function roleOf(row: Pick<TokenRow, 'agentId' | 'admin'>): TokenRole {
  if (row.agentId !== null) return 'agent';
  return row.admin ? 'admin' : 'viewer';
}

/** A new token as printed once to the operator: `agent` null means an operator (admin) or viewer token. */
export interface CreatedToken {
  agent: string | null;
  admin: boolean;
  role: TokenRole;
  /** The id `hub token list|revoke|rotate` know it by. */
  id: string;
  token: string;
}

/** A stored token as `hub token list` shows it: never the token, only a prefix of its hash. */
export interface TokenInfo {
  id: string;
  agent: string | null;
  role: TokenRole;
  created_at: string;
}

/**
 * Creates a token (256 random bits, base64url, prefixed `agh_`) for one agent, or, when `agent`
 * is null, an operator token of `role` (default admin), and stores only its hash. Throws USAGE
 * for an invalid agent id.
 */
export async function createToken(
  storage: HubStorage,
  agent: string | null,
  clock: Clock,
  role: 'admin' | 'viewer' = 'admin',
): Promise<CreatedToken> {
  const agentId = agent === null ? null : parseAgentId(agent, 'agent');
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    tokenHash: hashToken(token),
    agentId,
    admin: agentId === null && role === 'admin',
    createdAt: clock.now().toISOString(),
  };
  await storage.addToken(row);
  return {
    agent: agentId,
    admin: row.admin,
    role: roleOf(row),
    id: row.tokenHash.slice(0, TOKEN_ID_LENGTH),
    token,
  };
}

/** Every stored token, oldest first, by id, agent and role. */
export async function listTokens(storage: HubStorage): Promise<TokenInfo[]> {
  return (await storage.listTokens()).map((row) => ({
    id: row.tokenHash.slice(0, TOKEN_ID_LENGTH),
    agent: row.agentId,
    role: roleOf(row),
    created_at: row.createdAt,
  }));
}

/**
 * Revokes the token whose id (a hash prefix of at least 6 characters) is `id`, or every token of
 * `agent`; the hub refuses them from its next request. Returns the revoked tokens. Throws
 * NOT_FOUND when nothing matches and USAGE when an id prefix matches several tokens.
 */
export async function revokeTokens(
  storage: HubStorage,
  match: { id?: string | undefined; agent?: string | undefined },
): Promise<TokenInfo[]> {
  const rows = await matching(storage, match);
  await storage.removeTokens(rows.map((r) => r.tokenHash));
  return rows.map((row) => ({
    id: row.tokenHash.slice(0, TOKEN_ID_LENGTH),
    agent: row.agentId,
    role: roleOf(row),
    created_at: row.createdAt,
  }));
}

/**
 * Replaces the token `id` with a new one of the same agent and role: the new token is stored
 * before the old one is deleted, so there is no moment with neither. Throws like
 * {@link revokeTokens}.
 */
export async function rotateToken(
  storage: HubStorage,
  id: string,
  clock: Clock,
): Promise<CreatedToken & { replaced: string }> {
  const [old] = await matching(storage, { id });
  if (old === undefined) throw new AgenticError('INTERNAL', 'matching returned no token');
  const role = roleOf(old);
  const created = await createToken(
    storage,
    old.agentId,
    clock,
    role === 'viewer' ? 'viewer' : 'admin',
  );
  await storage.removeTokens([old.tokenHash]);
  return { ...created, replaced: old.tokenHash.slice(0, TOKEN_ID_LENGTH) };
}

async function matching(
  storage: HubStorage,
  match: { id?: string | undefined; agent?: string | undefined },
): Promise<TokenRow[]> {
  const all = await storage.listTokens();
  if (match.id !== undefined) {
    const id = match.id.toLowerCase();
    if (!/^[0-9a-f]{6,64}$/.test(id))
      throw new AgenticError('USAGE', 'id: expected the token id shown by `hub token list`', {
        field: 'id',
      });
    const rows = all.filter((r) => r.tokenHash.startsWith(id));
    if (rows.length > 1)
      throw new AgenticError(
        'USAGE',
        `id: "${match.id}" matches ${rows.length} tokens; give more of it`,
        {
          field: 'id',
        },
      );
    if (rows.length === 0)
      throw new AgenticError('NOT_FOUND', `no token with id "${match.id}"; see hub token list`, {
        field: 'id',
      });
    return rows;
  }
  if (match.agent === undefined)
    throw new AgenticError('USAGE', 'give a token id or --agent <name>', { field: 'id' });
  const agent = parseAgentId(match.agent, 'agent');
  const rows = all.filter((r) => r.agentId === agent);
  if (rows.length === 0)
    throw new AgenticError('NOT_FOUND', `agent "${agent}" has no token; see hub token list`, {
      field: 'agent',
    });
  return rows;
}
