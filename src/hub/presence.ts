import type { AgentRow } from './storage/types.js';

/** How the hub sees an agent: pushed or pulled within the online window, heard from earlier, or never. */
export type Presence = 'online' | 'idle' | 'unknown';

/** Default online window: 15 minutes since the last push or pull. */
export const DEFAULT_ONLINE_WINDOW_MS = 15 * 60_000;

/** The presence of an agent at `now`; `row` undefined means the hub never heard from it. */
export function presenceOf(row: AgentRow | undefined, now: Date, windowMs: number): Presence {
  if (row === undefined) return 'unknown';
  const last = Math.max(
    row.lastPushAt === null ? 0 : Date.parse(row.lastPushAt),
    row.lastPullAt === null ? 0 : Date.parse(row.lastPullAt),
  );
  if (last === 0) return 'unknown';
  return now.getTime() - last <= windowMs ? 'online' : 'idle';
}
