import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { HubStorage, TokenRow } from './storage.js';
import { parseAgentId } from './wire.js';

/** Prefix of every hub token, so a leaked one is recognisable by secret scanners. */
export const TOKEN_PREFIX = 'agh_';

/** SHA-256 (hex) of a token: what the hub stores and looks up (tokens are 256-bit random, so no salt or slow hash is needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token as printed once to the operator: `agentId` null means an operator (admin) token. */
export interface CreatedToken {
  agent: string | null;
  admin: boolean;
  token: string;
}

/**
 * Creates a token (256 random bits, base64url, prefixed `agh_`) for one agent, or an admin
 * token when `agent` is null, and stores only its hash. Throws USAGE for an invalid agent id.
 */
export async function createToken(
  storage: HubStorage,
  agent: string | null,
  clock: Clock,
): Promise<CreatedToken> {
  const agentId = agent === null ? null : parseAgentId(agent, 'agent');
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    tokenHash: hashToken(token),
    agentId,
    admin: agentId === null,
    createdAt: clock.now().toISOString(),
  };
  await storage.addToken(row);
  return { agent: agentId, admin: row.admin, token };
}
