import { expect, it } from 'vitest';
import { describeRealCli } from './suite.js';

// OpenAI's "You exceeded your current quota" has no reset time: a quota, paused an hour.
describeRealCli(
  'opencode',
  {
    limitQuestion:
      /^usage limit reached; retrying after .*\(no reset time given\): You exceeded your current quota/,
    pauseMs: { min: 55 * 60_000, max: 65 * 60_000 },
    hangTimeoutMinutes: 0.75,
    usage: { input_tokens: 200, output_tokens: 40, cost_usd: 0 },
    authCause: /Incorrect API key provided/,
  },
  (start) => {
    it('fails, not completes, when its permission rules refuse the edit', async () => {
      const sc = await start(
        { kind: 'write', path: 'out.txt', content: 'x\n' },
        { opencodeConfig: { permission: { edit: { '*': 'allow', 'out.txt': 'deny' } } } },
      );
      const { code, summary } = await sc.dispatchWait('- add a line');
      expect(code).toBe(1);
      expect(summary).toMatchObject({ status: 'failed', exit_code: 0 });
      expect(String(summary['question'])).toMatch(
        /opencode exited 0 but its permission rules refused an edit \(write out\.txt: /,
      );
    });
  },
);
