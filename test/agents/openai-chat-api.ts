import type { ServerResponse } from 'node:http';
import { mentions, sendJson, sse, sseHead, type Responder } from '../helpers/model-apis.js';
import { OPENAI_QUOTA_MESSAGE } from './openai-responses-api.js';

/**
 * A stand-in of an OpenAI-compatible chat completions API (`POST /v1/chat/completions`,
 * streamed as SSE) for OpenCode: on the first turn the model calls OpenCode's `write` tool;
 * once a tool message comes back it ends its turn with a short text.
 */
export const openaiChatResponder: Responder = (req, res, behaviour) => {
  if (req.path.startsWith('/v1/models'))
    return sendJson(res, 200, { object: 'list', data: [{ id: 'standin-model', object: 'model' }] });
  if (!req.path.startsWith('/v1/chat/completions'))
    return sendJson(res, 404, { error: 'not found' });
  if (behaviour.kind === 'auth')
    return sendJson(res, 401, {
      error: {
        message: 'Incorrect API key provided: sk-test.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    });
  // OpenCode retries a 429 itself; the retry-after-ms hint keeps its retries quick.
  if (behaviour.kind === 'usage-limit')
    return sendJson(
      res,
      429,
      {
        error: {
          message: OPENAI_QUOTA_MESSAGE,
          type: 'insufficient_quota',
          code: 'insufficient_quota',
        },
      },
      { 'retry-after-ms': '20' },
    );
  if (behaviour.kind !== 'write') return;
  const body = req.body as
    { stream?: boolean; tools?: Array<{ function?: { name?: string } }> } | undefined;
  const hasWrite = (body?.tools ?? []).some((t) => t.function?.name === 'write');
  const toolTurn = hasWrite && !mentions(req, '"role":"tool"');
  const args = JSON.stringify({ filePath: behaviour.path, content: behaviour.content });
  if (body?.stream !== true) {
    return sendJson(res, 200, {
      id: 'chatcmpl-standin',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: 'standin-model',
      choices: [
        {
          index: 0,
          message: toolTurn
            ? {
                role: 'assistant',
                content: null,
                tool_calls: [
                  { id: 'call_1', type: 'function', function: { name: 'write', arguments: args } },
                ],
              }
            : { role: 'assistant', content: 'Done.' },
          finish_reason: toolTurn ? 'tool_calls' : 'stop',
        },
      ],
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
    });
  }
  stream(res, toolTurn, args);
};

function stream(res: ServerResponse, toolTurn: boolean, args: string): void {
  const base = {
    id: 'chatcmpl-standin',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: 'standin-model',
  };
  sseHead(res);
  sse(res, {
    ...base,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  });
  if (toolTurn)
    sse(res, {
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'call_1',
                type: 'function',
                function: { name: 'write', arguments: args },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    });
  else
    sse(res, {
      ...base,
      choices: [{ index: 0, delta: { content: 'Done.' }, finish_reason: null }],
    });
  sse(res, {
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: toolTurn ? 'tool_calls' : 'stop' }],
    usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
  });
  res.write('data: [DONE]\n\n');
  res.end();
}
