import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { AgenticError } from '../lib/errors.js';
import { validateToken } from './token.js';

/** The `agentic daemon` flags of the MCP HTTP transport, as commander parsed them. */
export interface McpHttpFlags {
  mcpPort?: number | undefined;
  mcpHost?: string | undefined;
  mcpToken?: string | undefined;
  /** A file holding the token (first line), so it never shows in `ps`. */
  mcpTokenFile?: string | undefined;
  mcpAllowRemote?: boolean | undefined;
  mcpMaxSessions?: number | undefined;
  mcpIdleMinutes?: number | undefined;
}

/** Validated settings of the MCP HTTP transport. */
export interface McpHttpSettings {
  port: number;
  host: string;
  /** The given token; undefined = use (or create) `<CoreRoot>/mcp.token`. */
  token: string | undefined;
  /** `--mcp-max-sessions`; undefined = the default. */
  maxSessions?: number | undefined;
  /** `--mcp-idle-minutes` in ms; undefined = the default. */
  idleMs?: number | undefined;
}

/** Default interface: loopback only. */
export const DEFAULT_MCP_HOST = '127.0.0.1';

/** True for addresses that only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Checks the daemon's MCP flags before anything starts: undefined when `--mcp-port` is absent
 * (other MCP flags then are a USAGE error); a non-loopback `--mcp-host` needs
 * `--mcp-allow-remote`. The token is, in order, `--mcp-token`, the first line of
 * `--mcp-token-file`, `envToken` (`$CORE_AGENT_MCP_TOKEN`), else undefined (the generated
 * file); a given one must pass {@link validateToken}. Throws USAGE for an unreadable token file.
 */
export function resolveMcpHttpFlags(
  flags: McpHttpFlags,
  envToken?: string,
): McpHttpSettings | undefined {
  if (flags.mcpPort === undefined) {
    const stray = (
      [
        'mcpHost',
        'mcpToken',
        'mcpTokenFile',
        'mcpAllowRemote',
        'mcpMaxSessions',
        'mcpIdleMinutes',
      ] as const
    ).find((k) => flags[k] !== undefined);
    if (stray)
      throw new AgenticError(
        'USAGE',
        '--mcp-host, --mcp-token, --mcp-token-file, --mcp-allow-remote, --mcp-max-sessions and --mcp-idle-minutes need --mcp-port',
        {
          field: 'mcp-port',
        },
      );
    return undefined;
  }
  const host = flags.mcpHost ?? DEFAULT_MCP_HOST;
  if (!isLoopback(host) && flags.mcpAllowRemote !== true)
    throw new AgenticError(
      'USAGE',
      `mcp-host ${host} is reachable from other machines; add --mcp-allow-remote to confirm (the bearer token is still required; put TLS in front)`,
      { field: 'mcp-host' },
    );
  const token = flags.mcpToken ?? tokenFromFile(flags.mcpTokenFile) ?? envToken;
  return {
    port: flags.mcpPort,
    host,
    token: token === undefined ? undefined : validateToken(token),
  };
}

function tokenFromFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8').split(/\r?\n/)[0]?.trim() ?? '';
  } catch (err) {
    throw new AgenticError(
      'USAGE',
      `mcp-token-file: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { field: 'mcp-token-file', cause: err },
    );
  }
}
