import type { ServerResponse } from 'node:http';
import { mentions, sendJson, type Responder } from '../helpers/model-apis.js';

/** Seconds the stand-in's quota error says to wait. */
export const GEMINI_RETRY_SECONDS = 3 * 3600 + 25 * 60;

/**
 * A stand-in of the Gemini API (`…:streamGenerateContent?alt=sse`, and `…:generateContent`)
 * for Gemini CLI: on the first turn the model calls the CLI's `write_file` tool; once the
 * tool's response comes back it ends its turn with a short text.
 */
export const geminiResponder: Responder = (req, res, behaviour) => {
  if (!/:(stream)?generateContent|:countTokens/i.test(req.path))
    return sendJson(res, 404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } });
  if (/:countTokens/.test(req.path)) return sendJson(res, 200, { totalTokens: 10 });
  if (behaviour.kind === 'auth')
    return sendJson(res, 400, {
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' },
        ],
      },
    });
  if (behaviour.kind === 'usage-limit')
    return sendJson(res, 429, {
      error: {
        code: 429,
        message: `You exceeded your current quota, please check your plan and billing details. Please retry in ${GEMINI_RETRY_SECONDS}s.`,
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              {
                quotaMetric:
                  'generativelanguage.googleapis.com/generate_content_free_tier_requests',
                quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
              },
            ],
          },
          {
            '@type': 'type.googleapis.com/google.rpc.RetryInfo',
            retryDelay: `${GEMINI_RETRY_SECONDS}s`,
          },
        ],
      },
    });
  if (behaviour.kind !== 'write') return;
  const body = req.body as
    { tools?: Array<{ functionDeclarations?: Array<{ name?: string }> }> } | undefined;
  const hasWrite = (body?.tools ?? []).some((t) =>
    (t.functionDeclarations ?? []).some((f) => f.name === 'write_file'),
  );
  const toolTurn = hasWrite && !mentions(req, '"functionResponse"');
  const part = toolTurn
    ? {
        functionCall: {
          name: 'write_file',
          args: { file_path: behaviour.path, content: behaviour.content },
        },
      }
    : { text: 'Done.' };
  const chunk = {
    candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 20, totalTokenCount: 120 },
    modelVersion: 'gemini-standin',
  };
  if (!/stream/i.test(req.path)) return sendJson(res, 200, chunk);
  streamChunk(res, chunk);
};

function streamChunk(res: ServerResponse, chunk: unknown): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
  res.end();
}
