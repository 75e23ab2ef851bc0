import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { didYouMean } from '../lib/did-you-mean.js';
import { AgenticError } from '../lib/errors.js';
import { agentsFileSchema, type AgentsFile } from './schema.js';

/** Parses and validates agents.yaml text; throws CONFIG_INVALID with file, field path and expectation. */
export function parseAgentsFile(text: string, path: string): AgentsFile {
  const doc = loadYaml().parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new AgenticError(
      'CONFIG_INVALID',
      `${path}: invalid YAML: ${first?.message ?? 'parse error'}`,
    );
  }
  return validateAgentsObject(doc.toJS() ?? {}, path);
}

/**
 * Validates an agents.yaml document already parsed from YAML; throws CONFIG_INVALID naming
 * `path` (a file, or where the values came from), the field path and what was expected (an unknown key with a did-you-mean hint).
 */
export function validateAgentsObject(raw: unknown, path: string): AgentsFile {
  const result = agentsFileSchema.safeParse(raw);
  if (!result.success) {
    // A misspelt key usually also causes a 'missing field' issue; the misspelling is the real cause.
    const issues = result.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
    if (!issue) throw new AgenticError('CONFIG_INVALID', `${path}: invalid configuration`);
    const { field, message } = describeIssue(issue, raw);
    throw new AgenticError('CONFIG_INVALID', `${path}: ${field}: ${message}`, { field });
  }
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): { field: string; message: string } {
  const base = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = base ? `${base}.${key}` : key;
    const known = knownKeysAt(issue.path);
    const hint = didYouMean(key, known);
    const expected = known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
    return {
      field,
      message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : expected}`,
    };
  }
  const received = valueAt(raw, issue.path);
  const got = received === undefined ? 'nothing' : JSON.stringify(received);
  return { field: base || '(root)', message: `${issue.message} (got ${got})` };
}

/** Keys the schema accepts for the object at `path`, for did-you-mean hints. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = agentsFileSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.core.$ZodType>)[String(segment)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.core.$ZodType;
    else return [];
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault
  ) {
    current = current.unwrap() as z.core.$ZodType;
  }
  return current;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** Parses one YAML value (a number, a string, a flow map like `{total: 4, opus: 1}`). */
export function parseYamlValue(text: string): unknown {
  const doc = loadYaml().parseDocument(text);
  if (doc.errors.length > 0)
    throw new AgenticError(
      'CONFIG_INVALID',
      `invalid value ${JSON.stringify(text)}: ${doc.errors[0]?.message ?? 'parse error'}`,
    );
  return doc.toJS();
}

/**
 * The YAML parser, loaded on first use: a CoreRoot without agents.yaml (and every command that
 * only needs the defaults) does not pay for it. `require` keeps config loading synchronous.
 */
function loadYaml(): typeof Yaml {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yaml;
}
let yaml: typeof Yaml | undefined;
