import { AgenticError } from '../lib/errors.js';
import type { Status } from '../workspace/index.js';

/** Everything that can happen to a workspace. */
export type StatusEvent =
  | 'enqueue'
  | 'claim'
  | 'complete'
  | 'fail'
  | 'block'
  | 'requeue'
  | 'resume'
  | 'cancel'
  | 'kill'
  | 'merge'
  | 'reject';

/**
 * The workspace state machine: the status after `event` in status `from`, or STATE_CONFLICT
 * (a usage error) when the event is not allowed there.
 */
export function nextStatus(from: Status, event: StatusEvent): Status {
  const to = target(from, event);
  if (to === undefined) {
    throw new AgenticError('STATE_CONFLICT', `cannot ${event} a workspace that is ${from}`, {
      field: 'status',
    });
  }
  return to;
}

function target(from: Status, event: StatusEvent): Status | undefined {
  switch (from) {
    case 'queued':
      if (event === 'claim') return 'running';
      if (event === 'cancel' || event === 'kill') return 'cancelled';
      if (event === 'enqueue') return 'queued';
      return undefined;
    case 'running':
      if (event === 'complete') return 'completed';
      if (event === 'fail' || event === 'kill') return 'failed';
      if (event === 'block') return 'blocked';
      if (event === 'requeue') return 'queued';
      if (event === 'cancel') return 'cancelled';
      return undefined;
    case 'completed':
      if (event === 'resume' || event === 'enqueue') return 'queued';
      if (event === 'merge') return 'merged';
      // QA judged the agent's work after it ended: the closeout may fail it.
      if (event === 'fail') return 'failed';
      if (event === 'reject') return 'cancelled';
      return undefined;
    case 'failed':
      if (event === 'resume' || event === 'enqueue') return 'queued';
      if (event === 'cancel' || event === 'reject') return 'cancelled';
      // A reviewer may accept work whose QA failed.
      if (event === 'merge') return 'merged';
      return undefined;
    case 'blocked':
      if (event === 'resume' || event === 'enqueue') return 'queued';
      if (event === 'cancel' || event === 'reject') return 'cancelled';
      return undefined;
    case 'merged':
    case 'cancelled':
      if (event === 'resume' || event === 'enqueue') return 'queued';
      return undefined;
    default: {
      const never: never = from;
      return never;
    }
  }
}
