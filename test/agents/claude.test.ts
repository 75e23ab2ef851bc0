import { expect, it } from 'vitest';
import { describeRealCli } from './suite.js';

// Anthropic's API-key 429 carries no reset time: a rate limit, paused a minute, not an hour.
describeRealCli(
  'claude',
  {
    limitQuestion: /^rate limit reached; retrying after .*\(no reset time given\).*429/,
    pauseMs: { min: 30_000, max: 5 * 60_000 },
    hangTimeoutMinutes: 0.1,
    usage: { input_tokens: 240, output_tokens: 60, cost_usd: 0.00162 },
    resume: { usage: { input_tokens: 360, output_tokens: 90, cost_usd: 0.00243 } },
    authCause: /Invalid API key/,
  },
  (start) => {
    it.runIf(process.getuid?.() === 0)(
      'as root without IS_SANDBOX, fails saying what to set',
      async () => {
        const sc = await start(
          { kind: 'write', path: 'out.txt', content: 'x\n' },
          { agentEnv: { IS_SANDBOX: '' } },
        );
        const { summary } = await sc.dispatchWait('- add a line');
        expect(summary).toMatchObject({ status: 'failed' });
        expect(String(summary['question'])).toMatch(/root\/sudo privileges/);
        expect(String(summary['question'])).toMatch(/agents\.claude\.env\.IS_SANDBOX: "1"/);
        expect(sc.api.requests.filter((r) => r.method === 'POST')).toEqual([]);
      },
    );
  },
);
