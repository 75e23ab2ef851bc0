import type { ServerResponse } from 'node:http';
import { mentions, sendJson, sse, sseHead, type Responder } from '../helpers/model-apis.js';

/** The usage-limit message OpenAI sends with a 429 when the account's quota is spent. */
export const OPENAI_QUOTA_MESSAGE =
  'You exceeded your current quota, please check your plan and billing details.';

/** Seconds until the stand-in's ChatGPT-plan usage limit resets: 20h13m4s. */
export const CODEX_RESET_IN_SECONDS = 20 * 3600 + 13 * 60 + 4;

/**
 * A stand-in of the OpenAI Responses API (`POST /v1/responses`, streamed as SSE) for Codex: on
 * the first turn the model calls Codex's `apply_patch` tool to add the file; once the tool's
 * output comes back it ends its turn with a short message.
 */
export const openaiResponsesResponder: Responder = (req, res, behaviour) => {
  if (!req.path.startsWith('/v1/responses')) return sendJson(res, 404, { error: 'not found' });
  if (behaviour.kind === 'auth')
    return sendJson(res, 401, {
      error: {
        message: 'Incorrect API key provided: sk-test.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    });
  if (behaviour.kind === 'usage-limit')
    return sendJson(
      res,
      429,
      behaviour.variant === 'quota'
        ? {
            error: {
              message: OPENAI_QUOTA_MESSAGE,
              type: 'insufficient_quota',
              code: 'insufficient_quota',
            },
          }
        : {
            error: {
              type: 'usage_limit_reached',
              message: 'The usage limit has been reached',
              plan_type: 'plus',
              resets_at: Math.floor(Date.now() / 1000) + CODEX_RESET_IN_SECONDS,
              resets_in_seconds: CODEX_RESET_IN_SECONDS,
            },
          },
    );
  if (behaviour.kind !== 'write') return;
  const toolTurn =
    !mentions(req, '"function_call_output"') && !mentions(req, '"custom_tool_call_output"');
  const patch = [
    '*** Begin Patch',
    `*** Add File: ${behaviour.path}`,
    ...behaviour.content
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `+${l}`),
    '*** End Patch',
  ].join('\n');
  const tools =
    (req.body as { tools?: Array<{ type?: string; name?: string }> } | undefined)?.tools ?? [];
  const applyPatch = tools.find((t) => t.name === 'apply_patch');
  const item = !toolTurn
    ? {
        type: 'message',
        id: 'msg_2',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Done.', annotations: [] }],
      }
    : applyPatch?.type === 'custom'
      ? {
          type: 'custom_tool_call',
          id: 'ctc_1',
          call_id: 'call_1',
          name: 'apply_patch',
          input: patch,
          status: 'completed',
        }
      : applyPatch
        ? {
            type: 'function_call',
            id: 'fc_1',
            call_id: 'call_1',
            name: 'apply_patch',
            arguments: JSON.stringify({ input: patch }),
            status: 'completed',
          }
        : {
            type: 'function_call',
            id: 'fc_1',
            call_id: 'call_1',
            name: 'shell',
            arguments: JSON.stringify({ command: ['apply_patch', patch] }),
            status: 'completed',
          };
  stream(res, item);
};

function stream(res: ServerResponse, item: Record<string, unknown>): void {
  const response = {
    id: 'resp_standin',
    object: 'response',
    status: 'in_progress',
    model: 'gpt-standin',
    output: [],
  };
  sseHead(res);
  sse(res, { type: 'response.created', response }, 'response.created');
  sse(
    res,
    { type: 'response.output_item.added', output_index: 0, item },
    'response.output_item.added',
  );
  sse(
    res,
    { type: 'response.output_item.done', output_index: 0, item },
    'response.output_item.done',
  );
  sse(
    res,
    {
      type: 'response.completed',
      response: {
        ...response,
        status: 'completed',
        output: [item],
        usage: {
          input_tokens: 100,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 20,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 120,
        },
      },
    },
    'response.completed',
  );
  res.end();
}
