import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { createSyncService, resolveSyncSettings, type SyncService } from '../sync/index.js';
import { okResult } from './result.js';
import { guarded, type ToolEnv } from './tool-env.js';

// Same rule as the hub's agent ids: 1–128 characters, no whitespace or control characters.
const agentIdArg = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s\p{Cc}]+$/u, 'must not contain whitespace or control characters');

const identityShape = {
  agent_id: agentIdArg
    .optional()
    .describe('Agent id to sync as (default: AGENT_NAME, then sync.agent_id, then the hostname)'),
  fleet_node_id: agentIdArg
    .optional()
    .describe('Fleet node id sent with the records (default: CORE_AGENT_FLEET_NODE_ID)'),
};

/** The sync client for one call, with the agent and fleet node ids a caller may override. */
async function syncService(
  env: ToolEnv,
  ids: { agent_id?: string | undefined; fleet_node_id?: string | undefined },
): Promise<SyncService> {
  const settings = resolveSyncSettings(env.ctx.config);
  return createSyncService(env.ctx, {
    settings: {
      ...settings,
      agentId: ids.agent_id ?? settings.agentId,
      fleetNodeId: ids.fleet_node_id ?? settings.fleetNodeId,
    },
  });
}

/** Registers agentic_sync_push, agentic_sync_pull and agentic_sync_status (README: Sync). */
export function registerSyncTools(server: McpServer, env: ToolEnv): void {
  server.registerTool(
    'agentic_sync_push',
    {
      title: 'Push dispatch history to the hub',
      description:
        'Queue every committed dispatch not yet synced (plus any given records) and send the queue to the fleet hub now. ' +
        'Offline (no token or hub URL) the records stay queued and count is 0.',
      inputSchema: {
        ...identityShape,
        dispatches: z
          .array(z.record(z.string(), z.unknown()))
          .max(10_000)
          .optional()
          .describe(
            'Extra dispatch records to push; each needs an "id" (or "workspace"), the rest is sent as is',
          ),
      },
      outputSchema: {
        success: z.boolean().describe('False only when an entry was dropped during this call'),
        count: z.number().int().describe('Records that reached the hub'),
        queued: z.number().int().describe('Entries still waiting in the queue'),
        dropped: z.number().int().describe('Entries dropped during this call'),
        next_attempt: z.string().optional().describe('When the queue is tried again'),
        error: z.string().optional().describe('The last hub error'),
        offline: z.string().optional().describe('Why no request was made (e.g. no token)'),
      },
    },
    guarded(env, async (args) => {
      const report = await (
        await syncService(env, args)
      ).push(args.dispatches ? { dispatches: args.dispatches } : {});
      let text = `pushed ${report.count} records`;
      if (report.offline) text += ` (offline: ${report.offline})`;
      if (report.queued > 0) text += `; ${report.queued} entries queued`;
      if (report.dropped > 0) text += `; ${report.dropped} entries dropped`;
      if (report.error) text += `; last error: ${report.error}`;
      return okResult(text, { ...report });
    }),
  );

  server.registerTool(
    'agentic_sync_pull',
    {
      title: 'Pull fleet context from the hub',
      description:
        "Fetch the other agents' dispatches and operator notes from the hub into the local cache and return the " +
        'cached context (newest first). Offline or when the hub fails, the cache is returned; a hub failure ' +
        'sets success:false and gives the reason in error.',
      inputSchema: {
        ...identityShape,
        since: z
          .string()
          .optional()
          .describe(
            'Only items the hub received after this RFC 3339 time (default: everything after the hub cursor of the last pull)',
          ),
      },
      outputSchema: {
        success: z.boolean(),
        count: z.number().int().describe('Items in context'),
        context: z.array(z.record(z.string(), z.unknown())).describe('Context items, newest first'),
        fetched: z.number().int().describe('Items the hub returned this time, over every page'),
        pages: z.number().int().describe('Requests made to the hub'),
        source: z.enum(['hub', 'cache']),
        error: z.string().optional().describe('Why the cache was served'),
        warning: z.string().optional().describe('A problem to fix although the pull worked'),
      },
    },
    guarded(env, async (args) => {
      const result = await (await syncService(env, args)).pull({ since: args.since });
      const from =
        result.source === 'hub' ? `${result.fetched} new from the hub` : `cache: ${result.error}`;
      const failed = result.success ? '' : 'pull FAILED; ';
      return okResult(`${failed}${result.count} context items (${from})`, { ...result });
    }),
  );

  server.registerTool(
    'agentic_sync_status',
    {
      title: 'Sync status',
      description:
        'The sync queue, dropped entries, last push and pull, and the hub’s own view of this agent (offline: local view only).',
      inputSchema: {},
      outputSchema: {
        agent_id: z.string(),
        fleet_node_id: z.string().nullable(),
        status: z.enum(['offline', 'online', 'unreachable']),
        hub_url: z.string().nullable(),
        queued: z.number().int(),
        queued_records: z.number().int(),
        dropped: z.number().int(),
        last_push_at: z.string().nullable(),
        last_pull_at: z.string().nullable(),
        context_count: z.number().int(),
        next_attempt: z.string().nullable(),
        last_error: z.string().nullable(),
        degraded: z.boolean(),
        offline_reason: z.string().optional(),
        remote: z.record(z.string(), z.unknown()).optional(),
        remote_error: z.string().optional(),
      },
    },
    guarded(env, async () => {
      const s = await (await syncService(env, {})).status();
      const text =
        `agent ${s.agent_id}: ${s.status}${s.offline_reason ? ` (${s.offline_reason})` : ''}; ` +
        `queued ${s.queued} entries (${s.queued_records} records), dropped ${s.dropped}; ` +
        `last push ${s.last_push_at ?? '-'}, last pull ${s.last_pull_at ?? '-'}`;
      return okResult(text, { ...s });
    }),
  );
}
