import type { AppContext } from '../../src/context.js';
import { GROUPS } from '../../src/store/index.js';

/** A committed dispatch record as commit writes it to `dispatch_history` (journal shape plus `id` and `synced`). */
export function historyRecord(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const [org = 'core', repo = 'go-io'] = name.split('/');
  return {
    workspace: name,
    repo,
    org,
    task: `task for ${name}`,
    agent: 'codex',
    branch: 'agent/task',
    status: 'completed',
    question: '',
    issue: 0,
    runs: 1,
    process_id: '',
    pr_url: '',
    started_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:10:00.000Z',
    committed_at: '2026-01-01T00:10:01.000Z',
    id: name,
    synced: false,
    ...overrides,
  };
}

/** Writes `n` unsynced records `core/repo-<i>/task-1` into `dispatch_history`, with increasing `updated_at`; returns their names. */
export async function seedHistory(ctx: AppContext, n: number, prefix = 'repo'): Promise<string[]> {
  const store = await ctx.store();
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `core/${prefix}-${i}/task-1`;
    const updated = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    await store.set(GROUPS.dispatchHistory, name, historyRecord(name, { updated_at: updated }));
    names.push(name);
  }
  return names;
}

/** Env that points the client at a hub with a token and an agent name. */
export function hubEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CORE_API_URL: url, CORE_AGENT_API_KEY: 'test-token', AGENT_NAME: 'node-a', ...extra };
}
