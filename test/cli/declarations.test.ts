import { describe, expect, it } from 'vitest';
import { buildProgram, DECLARATIONS, declarationsFor } from '../../src/cli/main.js';

const names = async (declarations: typeof DECLARATIONS): Promise<string[]> =>
  (await buildProgram(declarations)).commands.map((c) => c.name());

describe('which command declarations a run loads', () => {
  it('each declaration module registers exactly the verbs its entry lists', async () => {
    for (const d of DECLARATIONS) expect(await names([d])).toEqual(d.verbs);
  });

  it('all of them together are the whole command tree, each verb once', async () => {
    const all = await names(DECLARATIONS);
    expect(all).toEqual(DECLARATIONS.flatMap((d) => d.verbs));
    expect(new Set(all).size).toBe(all.length);
  });

  it('a run loads the group of the verb it names, past global options and their values', () => {
    const argv = (...args: string[]): string[] => ['node', 'agentic', ...args];
    expect(declarationsFor(argv('status', '--json')).flatMap((d) => d.verbs)).toEqual(['status']);
    expect(
      declarationsFor(argv('--config', 'dispatch', '--log-level', 'warn', 'kill', 'x')).flatMap(
        (d) => d.verbs,
      ),
    ).toEqual(['daemon', 'stop', 'start', 'kill', 'watch']);
    expect(declarationsFor(argv('--version'))).toEqual([]);
    // Help, no verb and an unknown verb (for its did-you-mean) need every declaration.
    for (const args of [[], ['--help'], ['help'], ['stauts']])
      expect(declarationsFor(argv(...args))).toBe(DECLARATIONS);
  });
});
