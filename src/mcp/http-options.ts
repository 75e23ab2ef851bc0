import { isIP } from 'node:net';
import { AgenticError } from '../lib/errors.js';
import { validateToken } from './token.js';

/** The `agentic daemon` flags of the MCP HTTP transport, as commander parsed them. */
export interface McpHttpFlags {
  mcpPort?: number | undefined;
  mcpHost?: string | undefined;
  mcpToken?: string | undefined;
  mcpAllowRemote?: boolean | undefined;
}

/** Validated settings of the MCP HTTP transport. */
export interface McpHttpSettings {
  port: number;
  host: string;
  /** The given token; undefined = use (or create) `<CoreRoot>/mcp.token`. */
  token: string | undefined;
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
 * `--mcp-allow-remote`; a given `--mcp-token` must pass {@link validateToken}.
 */
export function resolveMcpHttpFlags(flags: McpHttpFlags): McpHttpSettings | undefined {
  if (flags.mcpPort === undefined) {
    const stray = (['mcpHost', 'mcpToken', 'mcpAllowRemote'] as const).find(
      (k) => flags[k] !== undefined,
    );
    if (stray)
      throw new AgenticError(
        'USAGE',
        '--mcp-host, --mcp-token and --mcp-allow-remote need --mcp-port',
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
  return {
    port: flags.mcpPort,
    host,
    token: flags.mcpToken === undefined ? undefined : validateToken(flags.mcpToken),
  };
}
