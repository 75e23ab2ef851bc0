import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { MAX_TASK_LENGTH } from '../../src/dispatch/dispatch-input.js';
import { enqueueDispatch } from '../../src/dispatch/enqueue.js';
import { readAllRecords } from '../../src/lifecycle/index.js';
import { AgenticError } from '../../src/lib/errors.js';
import { testContext, type TempRoot } from '../helpers/context.js';
import { engines, tempRootOn } from '../helpers/engines.js';
import { makeSourceRepo } from '../helpers/dispatch.js';

/** The INPUT_INVALID error an enqueue throws, or a failure when it queues. */
async function refusal(p: Promise<unknown>): Promise<AgenticError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgenticError);
  return err as AgenticError;
}

describe.each(engines())(
  'enqueueDispatch checks its input with the dispatch schema on $name',
  (engine) => {
    let root: TempRoot;
    let repo: string;
    let ctx: AppContext;

    beforeEach(async () => {
      root = await tempRootOn(engine);
      repo = makeSourceRepo(root);
      ctx = testContext(root);
    });
    afterEach(async () => {
      await ctx.close();
      root.cleanup();
    });

    it('refuses a bad field with INPUT_INVALID naming it, and creates nothing', async () => {
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [{ task: '  \n' }, 'task', /^task: must not be empty$/],
        [{ task: 'x'.repeat(MAX_TASK_LENGTH + 1) }, 'task', /^task: must be at most 200000/],
        [{ task: 'x', priority: 1001 }, 'priority', /^priority: must be an integer from -1000/],
        [{ task: 'x', priority: 1.5 }, 'priority', /^priority: expected int$/],
        [{ task: 'x', deliver: 'mail' }, 'deliver', /^deliver: must be one of .* \(got "mail"\)$/],
        [{ task: 'x', issue: 0 }, 'issue', /^issue: /],
        [{ task: 'x', pr: -3 }, 'pr', /^pr: /],
        [{ task: 7 }, 'task', /^task: expected string$/],
      ];
      for (const [fields, field, message] of cases) {
        const err = await refusal(enqueueDispatch(ctx, { repo, ...fields } as never));
        expect(err.code, JSON.stringify(fields).slice(0, 80)).toBe('INPUT_INVALID');
        expect(err.field).toBe(field);
        expect(err.message).toMatch(message);
      }
      expect((await readAllRecords(ctx)).size).toBe(0);
    });

    it('queues the task text exactly as given, and drops keys it does not know', async () => {
      const task = '  echo hi\n';
      const { record } = await enqueueDispatch(ctx, {
        repo,
        task,
        priority: -1000,
        issue: 4,
        deliver: 'none',
        wait: true,
      } as never);
      expect(record).toMatchObject({ task, priority: -1000, issue: 4, deliver: 'none' });
      expect(record).not.toHaveProperty('wait');
    });
  },
);
