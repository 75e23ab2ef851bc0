import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ZodError } from 'zod';
import { toAgenticError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/** A successful tool result: the structured value plus a short text summary for clients that only read text. */
export function okResult<T extends Record<string, unknown>>(
  summary: string,
  structured: T,
): CallToolResult & { structuredContent: T } {
  return { content: [{ type: 'text', text: summary }], structuredContent: structured };
}

/**
 * The one place MCP tools map errors: an `isError` result whose text names the field at fault
 * (`org: must not contain a path separator (got "../x")`) or the cause, plus the stable code in
 * brackets. Internal errors are logged with their stack; the client gets the message only.
 * Never throws, so a failed operation can never take the server down.
 */
export function errorResult(err: unknown, logger?: Logger): CallToolResult {
  let text: string;
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    text = `${field ? `${field}: ` : ''}${issue?.message ?? 'invalid input'} [INPUT_INVALID]`;
  } else {
    const e = toAgenticError(err);
    if (e.kind === 'internal')
      logger?.error({ err: err instanceof Error ? err.stack : String(err) }, 'mcp tool failed');
    text = `${e.field ? `${e.field}: ${withoutLabel(e.message, e.field)}` : e.message} [${e.code}]`;
  }
  return { isError: true, content: [{ type: 'text', text }] };
}

/** `org must not …` reads as `org: must not …` once the field is the prefix. */
function withoutLabel(message: string, field: string): string {
  return message.startsWith(`${field} `) ? message.slice(field.length + 1) : message;
}
