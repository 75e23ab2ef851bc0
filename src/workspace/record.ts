import type { StatusRecord } from './record-schema.js';

export { isSettled, isTerminal, STATUSES, TERMINAL_STATUSES, type Status } from './statuses.js';
export type { Changes, ChecksWait, Delivered, StatusRecord, TokenUsage } from './record-schema.js';

/** The pool of an agent string `base[:model]`: the base. */
export function poolOf(agent: string): string {
  const i = agent.indexOf(':');
  return i < 0 ? agent : agent.slice(0, i);
}

/** The model of an agent string `base[:model]`: everything after the first colon, or undefined. */
export function modelOf(agent: string): string | undefined {
  const i = agent.indexOf(':');
  return i < 0 ? undefined : agent.slice(i + 1);
}

/** Identifies one version of a record: `<updated_at>#<runs>`. */
export function fingerprintOf(record: Pick<StatusRecord, 'updated_at' | 'runs'>): string {
  return `${record.updated_at}#${record.runs}`;
}
