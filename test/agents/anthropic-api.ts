import type { ServerResponse } from 'node:http';
import {
  mentions,
  sendJson,
  sse,
  sseHead,
  type ModelBehaviour,
  type Responder,
  type SeenRequest,
} from '../helpers/model-apis.js';

/** Seconds until the stand-in's usage limit resets (reported in its headers). */
export const ANTHROPIC_RESET_IN_SECONDS = 5 * 3600;

/**
 * A stand-in of the Anthropic Messages API (`POST /v1/messages`, streamed as SSE): on the first
 * turn the model calls Claude Code's `Write` tool; once a tool result comes back it ends its
 * turn with a short text.
 */
export const anthropicResponder: Responder = (req, res, behaviour) => {
  if (!req.path.startsWith('/v1/messages')) return sendJson(res, 404, { error: 'not found' });
  if (req.path.startsWith('/v1/messages/count_tokens'))
    return sendJson(res, 200, { input_tokens: 10 });
  if (behaviour.kind === 'auth')
    return sendJson(res, 401, {
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    });
  if (behaviour.kind === 'usage-limit') {
    const reset = Math.floor(Date.now() / 1000) + ANTHROPIC_RESET_IN_SECONDS;
    return sendJson(
      res,
      429,
      {
        type: 'error',
        error: { type: 'rate_limit_error', message: 'This request would exceed your rate limit.' },
      },
      {
        'anthropic-ratelimit-unified-status': 'rejected',
        'anthropic-ratelimit-unified-reset': String(reset),
        'retry-after': String(ANTHROPIC_RESET_IN_SECONDS),
      },
    );
  }
  if (behaviour.kind !== 'write') return;
  const body = req.body as { stream?: boolean; tools?: Array<{ name?: string }> } | undefined;
  const hasWrite = (body?.tools ?? []).some((t) => t.name === 'Write');
  const toolTurn = hasWrite && !mentions(req, '"tool_result"');
  const block = toolTurn
    ? {
        type: 'tool_use',
        id: 'toolu_standin_1',
        name: 'Write',
        input: { file_path: behaviour.path, content: behaviour.content },
      }
    : { type: 'text', text: 'Done.' };
  reply(res, req, block, toolTurn ? 'tool_use' : 'end_turn', body?.stream === true);
};

function reply(
  res: ServerResponse,
  _req: SeenRequest,
  block: { type: string; [k: string]: unknown },
  stop: string,
  stream: boolean,
): void {
  const usage = { input_tokens: 120, output_tokens: 30 };
  const message = {
    id: 'msg_standin',
    type: 'message',
    role: 'assistant',
    model: 'claude-standin',
    stop_sequence: null,
  };
  if (!stream)
    return sendJson(res, 200, { ...message, content: [block], stop_reason: stop, usage });
  sseHead(res);
  sse(
    res,
    {
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        usage: { input_tokens: 120, output_tokens: 1 },
      },
    },
    'message_start',
  );
  if (block.type === 'tool_use') {
    const { input, ...head } = block;
    sse(
      res,
      { type: 'content_block_start', index: 0, content_block: { ...head, input: {} } },
      'content_block_start',
    );
    sse(
      res,
      {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(input) },
      },
      'content_block_delta',
    );
  } else {
    sse(
      res,
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      'content_block_start',
    );
    sse(
      res,
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: block['text'] } },
      'content_block_delta',
    );
  }
  sse(res, { type: 'content_block_stop', index: 0 }, 'content_block_stop');
  sse(
    res,
    {
      type: 'message_delta',
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: 30 },
    },
    'message_delta',
  );
  sse(res, { type: 'message_stop' }, 'message_stop');
  res.end();
}

export type { ModelBehaviour };
