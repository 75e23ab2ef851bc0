import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import type { ForgeKind } from '../../src/forge/index.js';
import { json, runCli, type CliResult } from './cli.js';
import { tempRoot, type TempRoot } from './context.js';
import { GIT_ENV, makeSourceRepo } from './dispatch.js';
import { startFakeForge, type FakeForgeHandle } from './fake-forges/index.js';
import { startGitHttp, type GitHttpServer } from './git-http.js';
import { git } from './git.js';

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

/** Every file under `dir` (recursively) whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.isDirectory()) found.push(...filesContaining(path, needle));
    else if (st.isFile() && readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

/** A source repository served by `git http-backend` with a fake forge API that knows its branches. */
export interface ForgeRemote {
  readonly forge: FakeForgeHandle;
  readonly gitHttp: GitHttpServer;
  /** The bare repository the git server serves. */
  readonly bare: string;
  /** The URL to dispatch with (`--repo`). */
  readonly remoteUrl: string;
  /** The agents.yaml `forges:` entry pointing the remote's host at the fake API. */
  readonly forgesYaml: string;
  close(): Promise<void>;
}

/**
 * Starts the fake forge of `kind` and a git server under `<CoreRoot>/git-server` holding a bare
 * copy of `source` at the fake's owner/name; every push teaches the fake the branches the git
 * server holds, as a forge would learn them.
 */
export async function startForgeRemote(
  kind: ForgeKind,
  root: TempRoot,
  source: string,
): Promise<ForgeRemote> {
  const forge = await startFakeForge(kind);
  const projectRoot = join(root.coreRoot, 'git-server');
  const repoPath = `${forge.state.owner}/${forge.state.name}.git`;
  const bare = join(projectRoot, repoPath);
  mkdirSync(dirname(bare), { recursive: true });
  git(root.coreRoot, 'clone', '-q', '--bare', source, bare);
  const syncBranches = (): void => {
    const refs = git(bare, 'for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads');
    for (const line of refs.split('\n').filter((l) => l !== '')) {
      const [name, sha] = line.split(' ');
      if (name !== undefined && sha !== undefined) forge.state.branches.set(name, sha);
    }
  };
  syncBranches();
  const gitHttp = await startGitHttp(projectRoot, syncBranches);
  return {
    forge,
    gitHttp,
    bare,
    remoteUrl: `${gitHttp.origin}/${repoPath}`,
    forgesYaml: [
      'forges:',
      `  - { host: "${gitHttp.host}", kind: ${kind}, api_url: "${forge.server.apiUrl}" }`,
    ].join('\n'),
    async close() {
      await gitHttp.close();
      await forge.close();
    },
  };
}
