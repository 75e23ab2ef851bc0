import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { AppContext } from '../context.js';
import { completionNotice } from '../dispatch/status-report.js';
import { VERSION } from '../lib/version.js';
import type { Status, StatusRecord } from '../workspace/index.js';
import type { CompletionWatch } from './completion-watch.js';
import type { ToolEnv } from './tool-env.js';
import { registerControlTools } from './tools-control.js';
import { registerPullRequestTools } from './tools-pr.js';
import { registerReviewTools } from './tools-review.js';
import { registerStatusTools } from './tools-status.js';
import { registerSyncTools } from './tools-sync.js';
import { registerWorkspaceTools } from './tools-workspace.js';

/** What a lead agent is told when it connects. */
export const SERVER_INSTRUCTIONS =
  'agentic dispatches coding tasks to agents (Claude Code, Codex, Gemini, OpenCode, any command), each in its own git ' +
  'workspace. Call agentic_dispatch once per task (it returns at once), then wait: this server sends a logging ' +
  'notification (logger "agentic", data.event "dispatch_finished") when a workspace you dispatched ends. Or poll ' +
  'agentic_status. A blocked workspace carries the agent’s question; answer it with agentic_resume {workspace, answer}.';

/** Options of {@link createMcpSession}. */
export interface McpSessionOptions {
  /** Shared completion watcher of the process (one per process, many sessions). */
  watch: CompletionWatch;
  /** Directory a relative `repo` is resolved against (default: this process's cwd). */
  cwd?: string;
}

/** One MCP session: the SDK server with every agentic tool, bound to a context. */
export interface McpSession {
  readonly server: McpServer;
  /** Stops this session's completion watches and closes the server (and its transport). */
  close(): Promise<void>;
}

const LEVELS: Record<Status, LoggingLevel> = {
  completed: 'info',
  merged: 'info',
  cancelled: 'info',
  blocked: 'notice',
  failed: 'warning',
  queued: 'debug',
  running: 'debug',
};

/**
 * Creates an McpServer bound to `ctx` with all agentic tools. Workspaces this session
 * dispatches or resumes are watched; when one reaches a terminal status the session's client
 * gets a logging notification ({@link CompletionNotice}). Connect it to exactly one transport.
 */
export function createMcpSession(ctx: AppContext, options: McpSessionOptions): McpSession {
  const server = new McpServer(
    { name: 'agentic', version: VERSION },
    { capabilities: { logging: {} }, instructions: SERVER_INSTRUCTIONS },
  );
  const unwatch = new Map<string, () => void>();
  let closed = false;

  const notify = async (name: string, record: StatusRecord): Promise<void> => {
    unwatch.delete(name);
    if (closed) return;
    const data = completionNotice(name, record);
    try {
      await server.sendLoggingMessage({ level: LEVELS[record.status], logger: 'agentic', data });
      ctx.logger.debug({ workspace: name, status: record.status }, 'mcp completion notified');
    } catch (err) {
      ctx.logger.debug({ workspace: name, err: String(err) }, 'mcp completion not delivered');
    }
  };

  const env: ToolEnv = {
    ctx,
    cwd: options.cwd ?? process.cwd(),
    follow(name, record) {
      if (closed) return;
      unwatch.get(name)?.();
      unwatch.set(
        name,
        options.watch.watch(name, record.updated_at, (n, r) => void notify(n, r)),
      );
    },
  };
  registerWorkspaceTools(server, env);
  registerStatusTools(server, env);
  registerSyncTools(server, env);
  registerControlTools(server, env);
  registerReviewTools(server, env);
  registerPullRequestTools(server, env);

  return {
    server,
    async close() {
      if (closed) return;
      closed = true;
      for (const stop of unwatch.values()) stop();
      unwatch.clear();
      await server.close();
    },
  };
}
