import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { json, runCli, type CliResult } from './cli.js';
import { tempRoot, type TempRoot } from './context.js';
import { GIT_ENV, makeSourceRepo } from './dispatch.js';

/** What `dispatch --wait --json` prints. */
export interface Summary {
  workspace: string;
  status: string;
  question: string | null;
}

/** A temp CoreRoot with a source repository, driven through the real CLI. */
export class DeliverFixture {
  readonly root: TempRoot = tempRoot();
  /** The `--repo` of dispatches: the source's path, or a URL a test sets. */
  repo: string = makeSourceRepo(this.root);
  readonly env: Record<string, string> = { ...this.root.env, ...GIT_ENV };

  /** Runs the CLI with this root's environment. */
  cli(args: string[]): Promise<CliResult> {
    return runCli(args, this.env, { timeoutMs: 120_000 });
  }

  /** `dispatch --wait --json` of `task`; the run may complete or fail, never crash. */
  async dispatchWait(task: string, extra: string[] = [], agent = 'shell'): Promise<Summary> {
    const res = await this.cli([
      'dispatch',
      '--repo',
      this.repo,
      '--agent',
      agent,
      '--task',
      task,
      '--wait',
      '--json',
      ...extra,
    ]);
    expect([0, 1], res.stderr).toContain(res.code);
    return json<Summary>(res);
  }

  /** The workspace's directory. */
  dir(name: string): string {
    return join(this.root.coreRoot, 'workspace', name);
  }

  /** The workspace's clone. */
  clone(name: string): string {
    return join(this.dir(name), 'repo');
  }

  /** Its status.json. */
  status(name: string): Record<string, unknown> {
    return JSON.parse(readFileSync(join(this.dir(name), 'status.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  }

  /** Its journal lines. */
  journal(name: string): Array<Record<string, unknown>> {
    return readFileSync(join(this.dir(name), '.meta', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  cleanup(): void {
    this.root.cleanup();
  }
}
