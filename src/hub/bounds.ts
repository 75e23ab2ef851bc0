import { AgenticError } from '../lib/errors.js';

/** Deepest nesting of objects and arrays one pushed record or note may have (a journal record is 2–3 levels deep). */
export const MAX_RECORD_DEPTH = 32;
/** Most bytes one pushed record or note may take as JSON: 256 KiB (a journal record is well under 4 KiB). */
export const MAX_RECORD_BYTES = 256 * 1024;

/** The bounds {@link checkBounds} enforces. */
export interface RecordBounds {
  maxDepth: number;
  maxBytes: number;
}

/**
 * Refuses a value nested deeper than `maxDepth` or larger than `maxBytes` as JSON, with
 * INPUT_INVALID (400) naming `field` and the limit. Such a record would be stored, then break
 * every reader that serialises it (a stack overflow answering other agents' context pulls), so
 * it is stopped at ingest. Walks iteratively, so the check itself cannot overflow the stack.
 */
export function checkBounds(value: unknown, field: string, bounds: RecordBounds): void {
  const depth = depthOf(value, bounds.maxDepth);
  if (depth > bounds.maxDepth)
    throw new AgenticError(
      'INPUT_INVALID',
      `${field}: nested more than ${bounds.maxDepth} levels deep; the hub accepts records nested at most ${bounds.maxDepth} levels`,
      { field },
    );
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > bounds.maxBytes)
    throw new AgenticError(
      'INPUT_INVALID',
      `${field}: ${bytes} bytes as JSON; the hub accepts records of at most ${bounds.maxBytes} bytes`,
      { field },
    );
}

/** Nesting depth of `value` (a scalar is 0), counting no further than `cap + 1`. */
function depthOf(value: unknown, cap: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > cap) return deepest;
    for (const child of Object.values(node)) stack.push([child, here]);
  }
  return deepest;
}
