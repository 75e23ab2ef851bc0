import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { waitForRecord } from './harness.js';
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
    it('runs afresh with the task and the answer when claude no longer has the conversation', async () => {
      const sc = await start({ kind: 'write', path: 'BLOCKED.md', content: 'Q-789: A or B?\n' });
      const first = await sc.dispatchWait('- pick A or B (TASK-123)');
      expect(first.summary).toMatchObject({ status: 'blocked' });
      const name = String(first.summary['workspace']);
      // Claude keeps its conversations under HOME (the scenario's CoreRoot); lose them.
      rmSync(join(sc.root.coreRoot, '.claude', 'projects'), { recursive: true, force: true });
      const seen = sc.api.requests.length;
      await sc.startDaemon();
      expect((await runCli(['resume', name, '--answer', 'ANSWER-456: B'], sc.env)).code).toBe(0);
      // The resume is refused, requeued once, and the fresh run (run 3) blocks again on the
      // stand-in's scripted question: the fallback ran, with the task and the answer.
      const again = await waitForRecord(
        sc,
        name,
        'the fresh run after the refused resume',
        (r) => r['runs'] === 3 && r['status'] === 'blocked',
      );
      expect(again['resume_session']).toBeUndefined();
      const later = sc.api.requests.slice(seen).filter((r) => r.method === 'POST');
      const fresh = later.find((r) => r.text.includes('ANSWER-456'));
      expect(fresh?.text).toContain('TASK-123');
      expect(fresh?.text).not.toContain('Q-789');
    });

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
