import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { AppContext } from '../context.js';
import type { StatusRecord } from '../workspace/index.js';
import { errorResult } from './result.js';

/** What every tool of one MCP session works with. */
export interface ToolEnv {
  readonly ctx: AppContext;
  /** Directory a relative `repo` of `agentic_dispatch` is resolved against. */
  readonly cwd: string;
  /** Follows a workspace this session queued, so its client is told when it ends. */
  follow(name: string, record: StatusRecord): void;
}

/** Wraps a tool handler so any error becomes an `isError` result (see errorResult) instead of a failed request. */
export function guarded<A>(
  env: ToolEnv,
  run: (args: A) => Promise<CallToolResult>,
): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return await run(args);
    } catch (err) {
      return errorResult(err, env.ctx.logger);
    }
  };
}
