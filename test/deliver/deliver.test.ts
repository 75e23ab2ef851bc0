import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import type { TempRoot } from '../helpers/context.js';
import { DeliverFixture, type Summary } from '../helpers/deliver.js';
import { writeAgentsYaml } from '../helpers/dispatch.js';
import { git } from '../helpers/git.js';

describe('delivering an agent’s work', () => {
  let f: DeliverFixture;
  let root: TempRoot;
  let repo: string;

  beforeEach(() => {
    f = new DeliverFixture();
    root = f.root;
    repo = f.repo;
  });
  afterEach(() => f.cleanup());

  const cli = (args: string[]) => f.cli(args);
  const dispatchWait = (task: string, extra: string[] = []): Promise<Summary> => {
    f.repo = repo;
    return f.dispatchWait(task, extra);
  };
  const status = (name: string) => f.status(name);
  const clone = (name: string) => f.clone(name);
  const journal = (name: string) => f.journal(name);

  it('commits what the agent left uncommitted as the configured identity, never agentic’s own files', async () => {
    writeAgentsYaml(
      root,
      'qa: off\ndeliver:\n  identity: { name: Reviewer Bot, email: bot@example.invalid }\n',
    );
    const first = await dispatchWait('echo "q?" > BLOCKED.md', ['--issue', '7']);
    expect(first.status).toBe('blocked');
    const res = await cli(['resume', first.workspace, '--answer', 'go on']);
    expect(res.code, res.stderr).toBe(0);
    // The same workspace runs again with a task that edits files and commits nothing.
    const again = await cli([
      'dispatch',
      '--repo',
      repo,
      '--agent',
      'shell',
      '--issue',
      '7',
      '--task',
      'Add notes\n\nlonger description',
      '--json',
    ]).catch(() => undefined);
    expect(again?.code).toBe(2); // already queued: STATE_CONFLICT
    const cancel = await cli(['cancel', first.workspace]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const done = await dispatchWait('echo one > notes.txt; mkdir -p sub; echo two > sub/b.txt', [
      '--issue',
      '7',
    ]);
    expect(done.status).toBe('completed');
    const dir = clone(done.workspace);
    expect(existsSync(join(dir, 'ANSWER.md'))).toBe(true);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s')).toBe(
      'Reviewer Bot <bot@example.invalid>|Reviewer Bot <bot@example.invalid>|echo one > notes.txt; mkdir -p sub; echo two > sub/b.txt',
    );
    const files = git(dir, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort();
    expect(files).toEqual(['notes.txt', 'sub/b.txt']);
    const record = status(done.workspace);
    expect(record['changes']).toEqual({
      commits: 1,
      files_changed: 2,
      insertions: 2,
      deletions: 0,
    });
    expect(record['base_ref']).toBe('trunk');
    expect(journal(done.workspace).at(-1)?.['changes']).toEqual(record['changes']);
  });

  it('counts changes against the base recorded at clone time after the source moved on', async () => {
    writeAgentsYaml(root, 'qa: off\n');
    const done = await dispatchWait(
      'printf "a\\nb\\n" > a.txt && git add a.txt && git commit -qm one && printf "a\\n" > a.txt && git commit -qam two',
    );
    expect(done.status).toBe('completed');
    const base = status(done.workspace)['base_sha'];
    expect(base).toBe(git(repo, 'rev-parse', 'trunk'));
    writeFileSync(join(repo, 'upstream.txt'), 'x\ny\nz\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'upstream moved on');
    expect(status(done.workspace)['changes']).toEqual({
      commits: 2,
      files_changed: 1,
      insertions: 1,
      deletions: 0,
    });
    const diff = await cli(['diff', done.workspace, '--stat']);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('a.txt');
    expect(diff.stdout).not.toContain('upstream.txt');
    expect(diff.stdout).not.toContain('\x1b['); // no colour off a terminal
  });

  it('ends completed with nothing to deliver when the agent changed nothing', async () => {
    writeAgentsYaml(root, 'qa: off\ndeliver: { mode: branch }\n');
    const done = await dispatchWait('true');
    expect(done.status).toBe('completed');
    const record = status(done.workspace);
    expect(record['changes']).toEqual({
      commits: 0,
      files_changed: 0,
      insertions: 0,
      deletions: 0,
    });
    expect(record['delivered']).toBeUndefined();
    expect(git(repo, 'branch', '--list', String(record['branch']))).toBe('');
  });

  it('starts from --base and refuses a base the source does not have', async () => {
    writeAgentsYaml(root, 'qa: off\n');
    git(repo, 'checkout', '-q', '-b', 'release');
    writeFileSync(join(repo, 'release.txt'), 'r\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'release only');
    git(repo, 'checkout', '-q', 'trunk');
    const done = await dispatchWait('test -f release.txt && echo ok > from-release.txt', [
      '--base',
      'release',
    ]);
    expect(done.status).toBe('completed');
    expect(status(done.workspace)['base_ref']).toBe('release');
    expect(status(done.workspace)['base_sha']).toBe(git(repo, 'rev-parse', 'release'));
    const bad = await cli([
      'dispatch',
      '--repo',
      repo,
      '--agent',
      'shell',
      '--task',
      'true',
      '--base',
      'no-such-branch',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('base "no-such-branch" is neither a branch nor a commit');
  });

  it('delivers a branch into a dirty source checked out on another branch without touching it', async () => {
    writeAgentsYaml(root, 'qa: off\ndeliver: { mode: branch }\n');
    git(repo, 'checkout', '-q', '-b', 'wip');
    writeFileSync(join(repo, 'README.md'), '# edited, not committed\n');
    writeFileSync(join(repo, 'scratch.txt'), 'untracked\n');
    git(repo, 'add', 'scratch.txt');
    const before = {
      status: git(repo, 'status', '--porcelain'),
      head: git(repo, 'rev-parse', 'HEAD'),
      index: git(repo, 'diff', '--cached', '--stat'),
    };
    const done = await dispatchWait('echo fix > fix.txt && git add fix.txt && git commit -qm fix');
    expect(done.status).toBe('completed');
    const record = status(done.workspace);
    const branch = String(record['branch']);
    const delivered = record['delivered'] as { mode: string; ref: string; sha: string };
    expect(delivered.mode).toBe('branch');
    expect(delivered.ref).toBe(`refs/heads/${branch}`);
    expect(git(repo, 'rev-parse', branch)).toBe(delivered.sha);
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('wip');
    expect(git(repo, 'status', '--porcelain')).toBe(before.status);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(before.head);
    expect(git(repo, 'diff', '--cached', '--stat')).toBe(before.index);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('# edited, not committed\n');
    expect(existsSync(join(repo, '.git', 'FETCH_HEAD'))).toBe(false);
    const review = json<{ workspaces: unknown[] }>(await cli(['review', '--json']));
    expect(review.workspaces).toEqual([]);
  });

  it('pushes the branch to a bare remote over file://', async () => {
    writeAgentsYaml(root, 'qa: off\ndeliver: { mode: branch }\n');
    const bare = join(root.coreRoot, 'remote.git');
    git(root.coreRoot, 'clone', '-q', '--bare', repo, bare);
    repo = `file://${bare}`;
    const done = await dispatchWait('echo x > x.txt');
    expect(done.status).toBe('completed');
    const record = status(done.workspace);
    expect(git(bare, 'rev-parse', String(record['branch']))).toBe(
      (record['delivered'] as { sha: string }).sha,
    );
  });

  it('refuses to overwrite a branch of the same name holding other commits; accept delivers once it is gone', async () => {
    writeAgentsYaml(root, 'qa: off\ndeliver: { mode: branch }\n');
    // While the agent works, someone creates its branch in the source with another commit.
    const clash = [
      'echo mine > mine.txt',
      `cd ${JSON.stringify(repo)}`,
      'git checkout -q -b agent/clash',
      'echo other > other.txt',
      'git add other.txt',
      'git commit -qm other',
      'git checkout -q trunk',
    ].join(' && ');
    const done = await dispatchWait(clash, ['--branch', 'agent/clash']);
    expect(done.status).toBe('completed');
    const theirs = git(repo, 'rev-parse', 'agent/clash');
    let record = status(done.workspace);
    expect(String(record['question']), String(record['question'])).toContain('already exists');
    expect(record['delivered']).toBeUndefined();
    const review = json<{ workspaces: Array<{ workspace: string; changes: unknown }> }>(
      await cli(['review', '--json']),
    );
    expect(review.workspaces.map((w) => w.workspace)).toEqual([done.workspace]);
    const refused = await cli(['accept', done.workspace]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already exists');
    expect(git(repo, 'rev-parse', 'agent/clash')).toBe(theirs);

    git(repo, 'branch', '-D', 'agent/clash');
    const accepted = await cli(['accept', done.workspace, '--json']);
    expect(accepted.code, accepted.stderr).toBe(0);
    record = status(done.workspace);
    const delivered = record['delivered'] as { sha: string };
    expect(git(repo, 'rev-parse', 'agent/clash')).toBe(delivered.sha);
    expect(journal(done.workspace).at(-1)?.['delivered']).toEqual(record['delivered']);
  });

  it('accept --merge fast-forwards a clean checked-out base and refuses a dirty one', async () => {
    writeAgentsYaml(root, 'qa: off\n');
    const done = await dispatchWait('echo feature > feature.txt');
    expect(done.status).toBe('completed');
    writeFileSync(join(repo, 'README.md'), '# dirty\n');
    const refused = await cli(['accept', done.workspace, '--merge']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('uncommitted changes');
    expect(git(repo, 'rev-parse', 'trunk')).toBe(status(done.workspace)['base_sha']);
    git(repo, 'checkout', '--', 'README.md');
    const merged = await cli(['accept', done.workspace, '--merge', '--json']);
    expect(merged.code, merged.stderr).toBe(0);
    const record = status(done.workspace);
    expect(record['status']).toBe('merged');
    expect(readFileSync(join(repo, 'feature.txt'), 'utf8')).toBe('feature\n');
    expect(git(repo, 'rev-parse', 'trunk')).toBe((record['delivered'] as { sha: string }).sha);
    expect(journal(done.workspace).at(-1)?.['status']).toBe('merged');
  });

  it('accept --merge moves a base that is not checked out only by fast-forward', async () => {
    writeAgentsYaml(root, 'qa: off\n');
    const done = await dispatchWait('echo a > a.txt');
    git(repo, 'checkout', '-q', '-b', 'elsewhere');
    const merged = await cli(['accept', done.workspace, '--merge']);
    expect(merged.code, merged.stderr).toBe(0);
    expect(git(repo, 'rev-parse', 'trunk')).toBe(git(clone(done.workspace), 'rev-parse', 'HEAD'));
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('elsewhere');

    const second = await dispatchWait('echo b > b.txt', [
      '--branch',
      'agent/second',
      '--base',
      'trunk',
    ]);
    git(repo, 'checkout', '-q', 'trunk');
    writeFileSync(join(repo, 'c.txt'), 'c\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'trunk moved');
    git(repo, 'checkout', '-q', 'elsewhere');
    const trunk = git(repo, 'rev-parse', 'trunk');
    const refused = await cli(['accept', second.workspace, '--merge']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('has moved on');
    expect(git(repo, 'rev-parse', 'trunk')).toBe(trunk);
    // The branch itself was delivered before the merge was refused.
    expect(git(repo, 'rev-parse', 'agent/second')).toBe(
      git(clone(second.workspace), 'rev-parse', 'HEAD'),
    );
  });

  it('reject ends the work cancelled with the reason and keeps it', async () => {
    writeAgentsYaml(root, 'qa: off\n');
    const done = await dispatchWait('echo x > x.txt');
    const res = await cli(['reject', done.workspace, '--reason', 'wrong approach', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(json<Summary>(res).status).toBe('cancelled');
    expect(status(done.workspace)['question']).toBe('rejected: wrong approach');
    expect(existsSync(clone(done.workspace))).toBe(true);
    expect(journal(done.workspace).at(-1)?.['status']).toBe('cancelled');
  });

  it('clean keeps undelivered and uncommitted work unless forced, and says why', async () => {
    writeAgentsYaml(root, 'qa: off\n');
    const undelivered = await dispatchWait('echo x > x.txt', ['--branch', 'agent/one']);
    const delivered = await dispatchWait('echo y > y.txt', [
      '--branch',
      'agent/two',
      '--deliver',
      'branch',
    ]);
    const nothing = await dispatchWait('true', ['--branch', 'agent/three']);
    const dirty = await dispatchWait('echo z > z.txt', ['--branch', 'agent/four']);
    writeFileSync(join(clone(dirty.workspace), 'later.txt'), 'edited after the run\n');
    const dry = json<{ removed: string[]; kept: Array<{ workspace: string; reason: string }> }>(
      await cli(['workspace', 'clean', '--dry-run', '--json']),
    );
    expect(dry.removed.sort()).toEqual([delivered.workspace, nothing.workspace].sort());
    expect(dry.kept).toEqual(
      expect.arrayContaining([
        { workspace: undelivered.workspace, reason: '1 undelivered commit(s)' },
        { workspace: dirty.workspace, reason: 'uncommitted changes' },
      ]),
    );
    expect(existsSync(clone(delivered.workspace))).toBe(true);
    const text = await cli(['workspace', 'clean']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('removed 2 workspace(s)');
    expect(text.stdout).toContain(`${undelivered.workspace}: 1 undelivered commit(s)`);
    expect(existsSync(clone(delivered.workspace))).toBe(false);
    expect(existsSync(clone(undelivered.workspace))).toBe(true);
    const forced = json<{ removed: string[] }>(
      await cli(['workspace', 'clean', '--force', '--json']),
    );
    expect(forced.removed.sort()).toEqual([undelivered.workspace, dirty.workspace].sort());
    expect(existsSync(clone(undelivered.workspace))).toBe(false);
  });
});
