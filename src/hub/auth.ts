import type { HubStorage } from './storage/index.js';
import { forbidden, unauthorized } from './http-errors.js';
import { hashToken, roleOf, type TokenRole } from './tokens.js';

/** Who a request acts as: one agent, a read-only fleet viewer, or an operator (admin) who may act as anyone. */
export interface Principal {
  agentId: string | null;
  admin: boolean;
  role: TokenRole;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

/** Resolves an `Authorization` header to a principal; throws UNAUTHORIZED (401) when it is missing, malformed or unknown. */
export async function authenticate(
  storage: HubStorage,
  header: string | undefined,
): Promise<Principal> {
  if (header === undefined || header.trim() === '')
    throw unauthorized('missing token: send Authorization: Bearer <token>');
  const token = BEARER.exec(header)?.[1];
  if (token === undefined)
    throw unauthorized('malformed Authorization header: expected Bearer <token>');
  const row = await storage.findToken(hashToken(token));
  if (row === undefined) throw unauthorized('invalid token');
  return { agentId: row.agentId, admin: row.admin, role: roleOf(row) };
}

/** Checks that the principal may act as `agentId`; throws FORBIDDEN (403) otherwise. */
export function authorizeAgent(principal: Principal, agentId: string): void {
  if (principal.admin || principal.agentId === agentId) return;
  if (principal.agentId === null)
    throw forbidden(`a viewer token only reads the dashboard; it cannot act as "${agentId}"`);
  throw forbidden(
    `this token belongs to agent "${principal.agentId}" and cannot act as "${agentId}"`,
  );
}

/** Checks that the principal is an operator; throws FORBIDDEN (403) otherwise. */
export function requireAdmin(principal: Principal): void {
  if (!principal.admin)
    throw forbidden('this needs an admin token (agentic hub token create --admin)');
}

/**
 * The one agent whose records `principal` may see on the dashboard, or undefined for the whole
 * fleet (admin and viewer tokens). An agent token asking for another agent gets FORBIDDEN (403).
 */
export function dashboardScope(
  principal: Principal,
  asked: string | undefined,
): string | undefined {
  if (principal.role !== 'agent') return undefined;
  if (asked !== undefined) authorizeAgent(principal, asked);
  return principal.agentId ?? undefined;
}

/**
 * Checks that the principal may read the fleet's nodes (admin and viewer tokens): the node
 * registry belongs to no one agent, so an agent token gets FORBIDDEN (403).
 */
export function requireFleetReader(principal: Principal): void {
  if (principal.role === 'agent')
    throw forbidden(
      'the Fleet view needs an admin or viewer token (agentic hub token create --viewer)',
    );
}
