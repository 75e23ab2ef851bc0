import type { z } from 'zod';
import { AgenticError } from './errors.js';

/**
 * Parses `value` with `schema`, or throws INPUT_INVALID whose message and `field` name the
 * first offending field, e.g. `dispatches[3].fingerprint: expected string`.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where = '',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [where, ...(issue?.path ?? []).map(String)]
    .filter((p) => p !== '')
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
  const message =
    issue === undefined
      ? 'invalid input'
      : issue.code === 'invalid_type'
        ? `expected ${issue.expected}`
        : issue.message;
  throw new AgenticError('INPUT_INVALID', `${field || 'body'}: ${message}`, {
    field: field || 'body',
  });
}
