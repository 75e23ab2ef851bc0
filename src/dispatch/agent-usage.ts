import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { readTextIfExists } from '../lib/fs.js';
import type { TokenUsage } from '../workspace/index.js';

/** What a CLI's own JSON events said about one run: its conversation id and its usage. */
export interface RunReport {
  /** The run number the log segment belongs to. */
  run: number;
  /** The CLI's conversation id (claude's and gemini's `session_id`, codex's `thread_id`, opencode's `sessionID`). */
  sessionId: string | undefined;
  /** Usage as the CLI reported it, before resumed-session totals are turned into this run's share. */
  reported: ReportedUsage | undefined;
}

/**
 * Usage figures as a CLI reports them. `cumulative` names the figures that, in a resumed
 * conversation, count the whole conversation rather than this run (codex's token counts;
 * claude's cost, while its tokens are per run).
 */
export interface ReportedUsage extends TokenUsage {
  cumulative: { tokens: boolean; cost: boolean };
}

/** Where this run's output starts in the agent log: written as the agent is launched. */
const runLogSchema = z.object({
  run: z.number().int(),
  log: z.string().regex(/^agent-[\w.-]+\.log$/),
  offset: z.number().int().nonnegative(),
});

/** The file that says where a run's output starts in its agent log. */
export function runLogPath(workspace: string): string {
  return join(workspace, '.meta', 'run-log.json');
}

/** Records where run `run`'s output will start in `log` (its size now), for {@link readRunReport}. */
export function markRunLog(workspace: string, log: string, run: number): void {
  const offset = statSync(log, { throwIfNoEntry: false })?.size ?? 0;
  writeFileSync(runLogPath(workspace), `${JSON.stringify({ run, log: basename(log), offset })}\n`);
}

/** How much of a huge run's log is read: its head (the init event) and its tail (the result). */
const HEAD_BYTES = 1024 * 1024;
const TAIL_BYTES = 8 * 1024 * 1024;

/**
 * Reads the last run's segment of its agent log and extracts the CLI's conversation id and
 * usage. Undefined when no run was marked; a log without those events (a custom agent, a CLI
 * that died early, unparsable lines) gives a report with both undefined — never throws.
 */
export function readRunReport(workspace: string): RunReport | undefined {
  try {
    const text = readTextIfExists(runLogPath(workspace));
    if (text === undefined) return undefined;
    const mark = runLogSchema.safeParse(JSON.parse(text));
    if (!mark.success) return undefined;
    const { run, log, offset } = mark.data;
    const pool = log.slice('agent-'.length, -'.log'.length);
    const lines = readSegment(join(workspace, '.meta', log), offset);
    const events = lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        const parsed = eventSchema.safeParse(JSON.parse(line));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
    return { run, ...parseEvents(pool, events) };
  } catch {
    return undefined;
  }
}

/** The lines of a log from `offset` on (head and tail only when the segment is huge). */
function readSegment(path: string, offset: number): string[] {
  const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  if (size <= offset) return [];
  const fd = openSync(path, 'r');
  try {
    const read = (from: number, length: number): string => {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, from);
      return buf.subarray(0, n).toString('utf8');
    };
    const length = size - offset;
    if (length <= HEAD_BYTES + TAIL_BYTES) return read(offset, length).split('\n');
    // The partial lines where the two pieces were cut fail to parse and are dropped.
    return [
      ...read(offset, HEAD_BYTES).split('\n'),
      ...read(size - TAIL_BYTES, TAIL_BYTES).split('\n'),
    ];
  } finally {
    closeSync(fd);
  }
}

const eventSchema = z.looseObject({ type: z.string() });
type Event = z.infer<typeof eventSchema>;

const count = z.number().int().nonnegative().catch(0);
const claudeUsage = z.looseObject({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count.optional(),
  cache_read_input_tokens: count.optional(),
});
const cost = z.number().nonnegative().finite();
const codexUsage = z.looseObject({ input_tokens: count, output_tokens: count });
const geminiStats = z.looseObject({ input_tokens: count, output_tokens: count });
const opencodeStep = z.looseObject({
  tokens: z.looseObject({
    input: count,
    output: count,
    cache: z.looseObject({ read: count, write: count }).optional(),
  }),
  cost: cost.optional().catch(undefined),
});
const id = z.string().min(1).max(200);

/** Each CLI's events: where its conversation id is and how its usage adds up. */
function parseEvents(pool: string, events: Event[]): Omit<RunReport, 'run'> {
  let sessionId: string | undefined;
  let tokens: { input: number; output: number } | undefined;
  let usd: number | undefined;
  const add = (input: number, output: number): void => {
    tokens = { input: (tokens?.input ?? 0) + input, output: (tokens?.output ?? 0) + output };
  };
  let cumulative = { tokens: false, cost: false };
  for (const e of events) {
    switch (pool) {
      // One `result` per run: tokens of this run, cost of the whole conversation.
      case 'claude': {
        cumulative = { tokens: false, cost: true };
        if (e.type === 'system' && e['subtype'] === 'init')
          sessionId = id.safeParse(e['session_id']).data ?? sessionId;
        if (e.type !== 'result') break;
        const u = claudeUsage.safeParse(e['usage']);
        if (u.success)
          add(
            u.data.input_tokens +
              (u.data.cache_creation_input_tokens ?? 0) +
              (u.data.cache_read_input_tokens ?? 0),
            u.data.output_tokens,
          );
        usd = cost.safeParse(e['total_cost_usd']).data ?? usd;
        break;
      }
      // Each `turn.completed` counts the whole thread so far: the last one is the total.
      case 'codex': {
        cumulative = { tokens: true, cost: false };
        if (e.type === 'thread.started') sessionId = id.safeParse(e['thread_id']).data ?? sessionId;
        if (e.type !== 'turn.completed') break;
        const u = codexUsage.safeParse(e['usage']);
        if (u.success) tokens = { input: u.data.input_tokens, output: u.data.output_tokens };
        break;
      }
      case 'gemini': {
        if (e.type === 'init') sessionId = id.safeParse(e['session_id']).data ?? sessionId;
        if (e.type !== 'result') break;
        const s = geminiStats.safeParse(e['stats']);
        if (s.success) add(s.data.input_tokens, s.data.output_tokens);
        break;
      }
      // A `step_finish` per model call, each with its own tokens and cost.
      case 'opencode': {
        sessionId = id.safeParse(e['sessionID']).data ?? sessionId;
        if (e.type !== 'step_finish') break;
        const s = opencodeStep.safeParse(e['part']);
        if (!s.success) break;
        const cache = s.data.tokens.cache;
        add(s.data.tokens.input + (cache?.read ?? 0) + (cache?.write ?? 0), s.data.tokens.output);
        if (s.data.cost !== undefined) usd = (usd ?? 0) + s.data.cost;
        break;
      }
      default:
        return { sessionId: undefined, reported: undefined };
    }
  }
  const reported: ReportedUsage | undefined =
    tokens === undefined
      ? undefined
      : {
          input_tokens: tokens.input,
          output_tokens: tokens.output,
          ...(usd !== undefined ? { cost_usd: usd } : {}),
          cumulative,
        };
  return { sessionId, reported };
}

/** The usage fields a finished run sets on its record. */
export interface UsagePatch {
  usage?: TokenUsage;
  session_id?: string;
  session_usage?: TokenUsage;
}

/**
 * Adds a run's usage to the workspace's total. In a resumed conversation (`resumed`), figures
 * the CLI reports for the whole conversation have the conversation's earlier total
 * (`sessionUsage`) taken off first, so nothing is counted twice. Returns the fields to set.
 */
export function accountRun(
  total: TokenUsage | undefined,
  sessionUsage: TokenUsage | undefined,
  report: Omit<RunReport, 'run'>,
  resumed: boolean,
): UsagePatch {
  const patch: UsagePatch = {};
  if (report.sessionId !== undefined) patch.session_id = report.sessionId;
  const r = report.reported;
  if (r === undefined) return patch;
  const before = resumed ? sessionUsage : undefined;
  const share = (value: number | undefined, prior: number | undefined, cumul: boolean): number =>
    cumul ? Math.max(0, (value ?? 0) - (prior ?? 0)) : (value ?? 0);
  const run: TokenUsage = {
    input_tokens: share(r.input_tokens, before?.input_tokens, r.cumulative.tokens),
    output_tokens: share(r.output_tokens, before?.output_tokens, r.cumulative.tokens),
    ...(r.cost_usd !== undefined
      ? { cost_usd: share(r.cost_usd, before?.cost_usd, r.cumulative.cost) }
      : {}),
  };
  patch.usage = addUsage(total, run);
  patch.session_usage = addUsage(before, run);
  return patch;
}

/** The sum of two usages; cost is kept when either has one. */
export function addUsage(a: TokenUsage | undefined, b: TokenUsage): TokenUsage {
  const costUsd =
    a?.cost_usd === undefined && b.cost_usd === undefined
      ? undefined
      : roundUsd((a?.cost_usd ?? 0) + (b.cost_usd ?? 0));
  return {
    input_tokens: (a?.input_tokens ?? 0) + b.input_tokens,
    output_tokens: (a?.output_tokens ?? 0) + b.output_tokens,
    ...(costUsd !== undefined ? { cost_usd: costUsd } : {}),
  };
}

/** Cost to a millionth of a dollar: floating-point sums would otherwise grow noise digits. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
