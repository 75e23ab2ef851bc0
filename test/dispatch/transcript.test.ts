import { describe, expect, it } from 'vitest';
import { renderLogLine } from '../../src/dispatch/transcript.js';

const line = (e: unknown): string => JSON.stringify(e);

describe('agent log transcripts', () => {
  it('renders claude stream-json: text, one line per tool call, shortened results, the result with cost', () => {
    expect(
      renderLogLine(
        line({
          type: 'assistant',
          message: {
            content: [
              { type: 'text', text: 'Writing it.' },
              { type: 'tool_use', name: 'Write', input: { file_path: 'out.txt', content: 'x' } },
            ],
          },
        }),
      ),
    ).toEqual(['Writing it.', '→ Write out.txt']);
    expect(
      renderLogLine(
        line({
          type: 'user',
          message: { content: [{ type: 'tool_result', content: 'File created\nsecond line' }] },
        }),
      ),
    ).toEqual(['  ← File created second line']);
    expect(
      renderLogLine(
        line({
          type: 'result',
          is_error: false,
          result: 'Done.',
          total_cost_usd: 0.00216,
          usage: { input_tokens: 240, output_tokens: 60 },
        }),
      ),
    ).toEqual(['= done · tokens in 240 out 60 · $0.0022: Done.']);
  });

  it('renders codex and opencode events and strips colour from plain lines', () => {
    expect(
      renderLogLine(
        line({
          type: 'item.completed',
          item: { type: 'file_change', changes: [{ path: '/w/out.txt', kind: 'add' }] },
        }),
      ),
    ).toEqual(['→ add /w/out.txt']);
    expect(
      renderLogLine(
        line({
          type: 'tool_use',
          part: { tool: 'write', state: { status: 'completed', input: { filePath: 'out.txt' } } },
        }),
      ),
    ).toEqual(['→ write out.txt']);
    expect(renderLogLine('\u001b[31mboom\u001b[0m')).toEqual(['boom']);
  });
});
