import { realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { z } from 'zod';
import type { QaCheckConfig } from '../config/index.js';
import { bounded, cleanOutput } from './output-text.js';
import type { Finding } from './report-schema.js';

/** Longest message kept in a finding. */
const MAX_MESSAGE = 500;
/** Longest rule code kept (a failing test's description serves as its code). */
const MAX_CODE = 200;

/** Findings parsed from one check's output, and a note when the output was not what its parser expects. */
export interface ParsedFindings {
  findings: Finding[];
  note?: string;
}

const eslintSchema = z.array(
  z.looseObject({
    filePath: z.string(),
    messages: z.array(
      z.looseObject({
        ruleId: z.string().nullish(),
        line: z.number().optional(),
        column: z.number().optional(),
        severity: z.number(),
        message: z.string(),
      }),
    ),
  }),
);

const ruffSchema = z.array(
  z.looseObject({
    code: z.string().nullish(),
    filename: z.string(),
    location: z.looseObject({ row: z.number(), column: z.number() }).nullish(),
    message: z.string(),
  }),
);

/**
 * Parses a check's stdout into findings as its `parse` setting says: `eslint-json` (eslint
 * `-f json`), `ruff-json` (`ruff check --output-format json`), `tap` (each failing `not ok`
 * test) or `none`. Paths come out relative to `repoDir`. Never throws: output the parser cannot
 * read gives no findings and a note.
 */
export function parseFindings(
  parse: QaCheckConfig['parse'],
  tool: string,
  stdout: string,
  repoDir: string,
): ParsedFindings {
  const paths = repoPaths(repoDir);
  switch (parse) {
    case 'none':
      return { findings: [] };
    case 'eslint-json': {
      const files = eslintSchema.safeParse(parseJsonArray(stdout));
      if (!files.success)
        return { findings: [], note: 'output is not eslint JSON (-f json); no findings read' };
      return {
        findings: files.data.flatMap((f) =>
          f.messages.map((m) =>
            finding({
              tool,
              file: paths(f.filePath),
              line: m.line ?? 0,
              column: m.column,
              code: m.ruleId ?? 'fatal',
              severity: m.severity >= 2 ? 'error' : m.severity === 1 ? 'warning' : 'info',
              message: m.message,
            }),
          ),
        ),
      };
    }
    case 'ruff-json': {
      const items = ruffSchema.safeParse(parseJsonArray(stdout));
      if (!items.success)
        return {
          findings: [],
          note: 'output is not ruff JSON (--output-format json); no findings read',
        };
      return {
        findings: items.data.map((d) =>
          finding({
            tool,
            file: paths(d.filename),
            line: d.location?.row ?? 0,
            column: d.location?.column,
            code: d.code ?? 'syntax-error',
            severity: 'error',
            message: d.message,
          }),
        ),
      };
    }
    case 'tap':
      return { findings: parseTap(tool, stdout, paths) };
  }
}

/** `tool|file|line|code`: the key that follows a finding from one QA cycle to the next. */
export function fingerprintOf(f: Pick<Finding, 'tool' | 'file' | 'line' | 'code'>): string {
  return `${f.tool}|${f.file}|${f.line}|${f.code}`;
}

function finding(
  f: Omit<Finding, 'fingerprint' | 'column'> & { column: number | undefined },
): Finding {
  const code = bounded(cleanOutput(f.code).replace(/\s+/g, ' ').trim(), MAX_CODE);
  const line = Math.max(0, Math.trunc(f.line));
  const out: Finding = {
    tool: f.tool,
    file: f.file,
    line,
    code,
    severity: f.severity,
    message: bounded(cleanOutput(f.message).trim(), MAX_MESSAGE),
    fingerprint: fingerprintOf({ tool: f.tool, file: f.file, line, code }),
  };
  if (f.column !== undefined) out.column = Math.max(0, Math.trunc(f.column));
  return out;
}

/**
 * Linters' JSON, also when a wrapper printed lines around it (`npm run lint` echoes the
 * command to stdout first): the whole text, else from the first line opening with `[` to the
 * last `]`.
 */
function parseJsonArray(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const start = text.search(/^\[/m);
    const end = text.lastIndexOf(']');
    if (start < 0 || end < start) return undefined;
    try {
      return JSON.parse(text.slice(start, end + 1));
    } catch {
      return undefined;
    }
  }
}

const NOT_OK = /^\s*not ok\b(?:\s+\d+)?\s*(?:-\s*)?(.*)$/;
const DIRECTIVE = /\s#\s*(TODO|SKIP)\b.*$/i;
const OTHER_DIRECTIVE = /\s#\s.*$/;
const LOCATION = /^\s*location:\s*['"]?(.+?):(\d+)(?::(\d+))?['"]?\s*$/;

/** Each failing `not ok` line (not TODO or SKIP), with the file and line node:test's YAML block names. */
function parseTap(tool: string, stdout: string, paths: (file: string) => string): Finding[] {
  const lines = stdout.split(/\r?\n/);
  const out: Finding[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = NOT_OK.exec(lines[i] ?? '');
    if (!m) continue;
    const rest = m[1] ?? '';
    if (DIRECTIVE.test(rest)) continue;
    const description = rest.replace(OTHER_DIRECTIVE, '').trim() || 'unnamed test';
    let file = '';
    let line = 0;
    let column: number | undefined;
    // The YAML diagnostics follow until the next test line.
    for (let j = i + 1; j < lines.length && !/^\s*(not )?ok\b/.test(lines[j] ?? ''); j++) {
      const loc = LOCATION.exec(lines[j] ?? '');
      if (loc) {
        file = paths(loc[1] ?? '');
        line = Number(loc[2]);
        column = loc[3] === undefined ? undefined : Number(loc[3]);
        break;
      }
    }
    out.push(
      finding({
        tool,
        file,
        line,
        column,
        code: description,
        severity: 'error',
        message: `not ok: ${description}`,
      }),
    );
  }
  return out;
}

/** Maps a tool's path (absolute, or relative to the repo) to a `/`-separated path relative to `repoDir`. */
function repoPaths(repoDir: string): (file: string) => string {
  const bases = [repoDir];
  try {
    // Tools report paths under process.cwd(), which is the physical path.
    const real = realpathSync(repoDir);
    if (real !== repoDir) bases.push(real);
  } catch {
    // A missing repoDir leaves absolute paths as they are.
  }
  return (file) => {
    const clean = file.replace(/^file:\/\//, '');
    if (!isAbsolute(clean)) return clean.replace(/\\/g, '/').replace(/^\.\//, '');
    for (const base of bases) {
      const rel = relative(base, clean);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.replace(/\\/g, '/');
    }
    return clean;
  };
}
