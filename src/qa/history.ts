import { z } from 'zod';
import { fingerprintOf } from './parse-findings.js';
import { findingSchema, type Cluster, type Finding } from './report-schema.js';

/** How many earlier QA cycles the comparison looks at. */
export const HISTORY_WINDOW = 5;
/** In how many of the newest earlier cycles a finding must appear to be `persistent`. */
export const PERSISTENT_CYCLES = 4;

/** A finding compared with earlier QA cycles. */
export interface FindingHistory {
  /** Current findings the newest earlier cycle did not have. */
  new: Finding[];
  /** Findings of the newest earlier cycle that are gone now. */
  resolved: Finding[];
  /** Current findings present in each of the four newest earlier cycles. */
  persistent: Finding[];
  /** How many earlier cycles the window held (0 = no history). */
  cycles: number;
}

const findingsHolder = z.looseObject({ findings: z.array(z.unknown()) });
const entrySchema = z.looseObject({
  report: findingsHolder.optional(),
  findings: z.array(z.unknown()).optional(),
});
const partialFinding = z.looseObject({
  fingerprint: z.string().optional(),
  tool: z.string().optional(),
  file: z.string().optional(),
  line: z.number().optional(),
  code: z.string().optional(),
});

/**
 * Compares `current` with earlier cycles. `history` is journal lines of the workspace (parsed
 * JSON, oldest first); a line counts as a cycle when it carries a findings list (an empty one
 * too: a clean cycle) under `report.findings`, else `findings`; lines without one (QA off, or
 * not reached) are passed over. The window is the last five such cycles. No cycle → all lists
 * empty. Each list holds one finding per fingerprint.
 */
export function compareWithHistory(
  current: readonly Finding[],
  history: readonly unknown[],
): FindingHistory {
  const cycles = history
    .map(cycleFindings)
    .filter((c): c is Finding[] => c !== undefined)
    .slice(-HISTORY_WINDOW);
  const newest = cycles.at(-1);
  if (newest === undefined) return { new: [], resolved: [], persistent: [], cycles: 0 };

  const now = distinct(current);
  const nowKeys = new Set(now.map((f) => f.fingerprint));
  const newestKeys = new Set(newest.map((f) => f.fingerprint));
  const lastFour = cycles
    .slice(-PERSISTENT_CYCLES)
    .map((c) => new Set(c.map((f) => f.fingerprint)));
  return {
    new: now.filter((f) => !newestKeys.has(f.fingerprint)),
    resolved: distinct(newest).filter((f) => !nowKeys.has(f.fingerprint)),
    persistent:
      lastFour.length < PERSISTENT_CYCLES
        ? []
        : now.filter((f) => lastFour.every((keys) => keys.has(f.fingerprint))),
    cycles: cycles.length,
  };
}

/** Findings grouped by `tool|code`, largest group first (then by tool and code), files listed once each in order. */
export function clusterFindings(findings: readonly Finding[]): Cluster[] {
  const groups = new Map<string, Cluster>();
  for (const f of findings) {
    const key = `${f.tool}|${f.code}`;
    let group = groups.get(key);
    if (!group) {
      group = { tool: f.tool, code: f.code, count: 0, files: [] };
      groups.set(key, group);
    }
    group.count++;
    if (!group.files.includes(f.file)) group.files.push(f.file);
  }
  return [...groups.values()].sort(
    (a, b) => b.count - a.count || a.tool.localeCompare(b.tool) || a.code.localeCompare(b.code),
  );
}

/** The findings one journal line carries, or undefined when it carries no findings list. */
function cycleFindings(entry: unknown): Finding[] | undefined {
  const parsed = entrySchema.safeParse(entry);
  if (!parsed.success) return undefined;
  const list = parsed.data.report?.findings ?? parsed.data.findings;
  if (list === undefined) return undefined;
  return list.map(toFinding).filter((f): f is Finding => f !== undefined);
}

/**
 * A finding as an earlier journal line recorded it: a whole finding, a partial one, or just its
 * fingerprint (the compact form {@link reportForJournal} writes).
 */
function toFinding(value: unknown): Finding | undefined {
  if (typeof value === 'string') return fromFingerprint(value);
  const whole = findingSchema.safeParse(value);
  if (whole.success) return whole.data;
  const part = partialFinding.safeParse(value);
  if (!part.success) return undefined;
  const p = part.data;
  if (p.fingerprint !== undefined) return fromFingerprint(p.fingerprint);
  if (p.tool === undefined || p.code === undefined) return undefined;
  const key = { tool: p.tool, file: p.file ?? '', line: p.line ?? 0, code: p.code };
  return { ...key, severity: 'error', message: '', fingerprint: fingerprintOf(key) };
}

/** Splits `tool|file|line|code` back into its fields; a file may itself hold `|`. */
function fromFingerprint(fingerprint: string): Finding {
  const parts = fingerprint.split('|');
  const tool = parts[0] ?? '';
  const code = parts.length >= 4 ? (parts.at(-1) ?? '') : '';
  const line = parts.length >= 4 ? Number(parts.at(-2)) : 0;
  const file = parts.length >= 4 ? parts.slice(1, -2).join('|') : '';
  return {
    tool,
    file,
    line: Number.isSafeInteger(line) && line >= 0 ? line : 0,
    code,
    severity: 'error',
    message: '',
    fingerprint,
  };
}

function distinct(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => !seen.has(f.fingerprint) && (seen.add(f.fingerprint), true));
}
