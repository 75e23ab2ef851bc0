import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { json, runCli, type CliResult } from '../helpers/cli.js';
import { tempRoot, type TempRoot } from '../helpers/context.js';
import { GIT_ENV, makeSourceRepo, writeAgentsYaml } from '../helpers/dispatch.js';
import { startFakeForge, type FakeForgeHandle } from '../helpers/fake-forges/index.js';
import { startGitHttp, type GitHttpServer } from '../helpers/git-http.js';
import { git } from '../helpers/git.js';

/** The one-line outcome `dispatch --json` prints. */
export interface Summary {
  workspace: string;
  status: string;
  question: string | null;
}

/** A forge kind the fakes serve. */
export type Kind = 'github' | 'gitlab' | 'gitea';

/** The failing check of each fake's red scenario. */
export const FAILING_CHECK: Record<Kind, string> = {
  github: 'unit',
  gitlab: 'test: unit',
  gitea: 'ci/test',
};

/**
 * A git server over HTTP (a real bare repository) and a fake forge that learns its branches on
 * every push, merges pull requests for real in the bare repository and deletes branches there.
 */
export interface MergeFixture {
  readonly root: TempRoot;
  readonly forge: FakeForgeHandle;
  readonly gitHttp: GitHttpServer;
  readonly bare: string;
  readonly remoteUrl: string;
  readonly env: Record<string, string>;
  readonly logs: string[];
  /** Called for each new commit pushed to a branch other than the base, with that branch's push count. */
  onPush: (branch: string, sha: string, count: number) => void;
  /** Writes agents.yaml: `deliver.mode: merge` with fast polling, these deliver lines, and the forge. */
  configure(deliverLines?: string[], extra?: string[]): void;
  /** Commits a file on the base branch of the git server (someone else's work landing). */
  advanceBase(file: string): string;
  /** The SHA of a branch in the git server, or undefined when it does not exist. */
  remoteSha(branch: string): string | undefined;
  cli(args: string[], extra?: Record<string, string>): Promise<CliResult>;
  dispatchWait(task: string, extra?: string[]): Promise<Summary>;
  status(name: string): Record<string, unknown>;
  close(): Promise<void>;
}

/** Starts the fixture for one forge kind. */
export async function mergeFixture(kind: Kind): Promise<MergeFixture> {
  const root = tempRoot('agentic-merge-');
  const forge = await startFakeForge(kind);
  const source = makeSourceRepo(root);
  const projectRoot = join(root.coreRoot, 'git-server');
  const repoPath = `${forge.state.owner}/${forge.state.name}.git`;
  const bare = join(projectRoot, repoPath);
  mkdirSync(dirname(bare), { recursive: true });
  git(root.coreRoot, 'clone', '-q', '--bare', source, bare);
  const seen = new Map<string, string>();
  const pushCount = new Map<string, number>();
  const sync = (announce: boolean): void => {
    const refs = git(bare, 'for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads');
    for (const line of refs.split('\n').filter((l) => l !== '')) {
      const [name, sha] = line.split(' ');
      if (name === undefined || sha === undefined) continue;
      forge.state.branches.set(name, sha);
      for (const p of forge.state.pulls) if (p.state === 'open' && p.head === name) p.headSha = sha;
      if (seen.get(name) === sha) continue;
      seen.set(name, sha);
      if (!announce || name === 'trunk') continue;
      const count = (pushCount.get(name) ?? 0) + 1;
      pushCount.set(name, count);
      fixture.onPush(name, sha, count);
    }
  };
  sync(false);
  forge.state.onBranchDeleted = (name) => {
    git(bare, 'update-ref', '-d', `refs/heads/${name}`);
    seen.delete(name);
  };
  forge.state.onMerge = (pull) => {
    const base = git(bare, 'rev-parse', `refs/heads/${pull.base}`);
    const head = git(bare, 'rev-parse', `refs/heads/${pull.head}`);
    const tree = git(bare, 'merge-tree', '--write-tree', base, head);
    const commit = git(bare, 'commit-tree', tree, '-p', base, '-p', head, '-m', 'merge');
    git(bare, 'update-ref', `refs/heads/${pull.base}`, commit, base);
    seen.set(pull.base, commit);
    return commit;
  };
  const gitHttp = await startGitHttp(projectRoot, () => sync(true));
  const remoteUrl = `${gitHttp.origin}/${repoPath}`;
  const env = { ...root.env, ...GIT_ENV, GIT_TERMINAL_PROMPT: '0', [forge.tokenVar]: forge.token };
  const logs: string[] = [];
  let work: string | undefined;
  const cli = async (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => {
    const res = await runCli(args, { ...env, ...extra }, { timeoutMs: 120_000 });
    logs.push(res.stdout, res.stderr);
    return res;
  };
  const fixture: MergeFixture = {
    root,
    forge,
    gitHttp,
    bare,
    remoteUrl,
    env,
    logs,
    onPush: () => undefined,
    configure(deliverLines = [], extra = ['qa: off']) {
      writeAgentsYaml(
        root,
        [
          ...extra,
          'deliver:',
          '  mode: merge',
          '  checks_poll: { first_seconds: 0.2, max_seconds: 0.5, appear_seconds: 0 }',
          ...deliverLines.map((l) => `  ${l}`),
          'forges:',
          `  - { host: "${gitHttp.host}", kind: ${kind}, api_url: "${forge.server.apiUrl}" }`,
          '',
        ].join('\n'),
      );
    },
    advanceBase(file) {
      if (work === undefined) {
        work = join(root.coreRoot, 'someone-else');
        git(root.coreRoot, 'clone', '-q', '-b', 'trunk', bare, work);
      }
      git(work, 'pull', '-q', '--ff-only', 'origin', 'trunk');
      writeFileSync(join(work, file), `${file}\n`);
      git(work, 'add', file);
      git(work, 'commit', '-q', '-m', `add ${file}`);
      git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/trunk');
      sync(false);
      return git(work, 'rev-parse', 'HEAD');
    },
    remoteSha(branch) {
      try {
        return git(bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`);
      } catch {
        return undefined;
      }
    },
    cli,
    async dispatchWait(task, extra = []) {
      const res = await cli([
        'dispatch',
        '--repo',
        remoteUrl,
        '--agent',
        'shell',
        '--task',
        task,
        '--wait',
        '--json',
        ...extra,
      ]);
      expect([0, 1], res.stderr).toContain(res.code);
      return json<Summary>(res);
    },
    status(name) {
      return JSON.parse(
        readFileSync(join(root.coreRoot, 'workspace', name, 'status.json'), 'utf8'),
      ) as Record<string, unknown>;
    },
    async close() {
      await gitHttp.close();
      await forge.close();
      root.cleanup();
    },
  };
  return fixture;
}
