/** What CI says about a commit in a fake forge. */
export type CheckScenario = 'none' | 'pending' | 'green' | 'red';

/** A pull/merge request as the fakes keep it, whatever the forge. */
export interface FakePull {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed' | 'merged';
  draft: boolean;
  headSha: string;
  /** Set by a test to make merges fail with the forge's conflict answer. */
  conflict: boolean;
  labels: string[];
  comments: string[];
  /** How it was merged (the forge's own word: merge_method, squash flag, Do). */
  mergedWith: string | undefined;
  mergeCommitSha: string | undefined;
}

/** One repository's state in a fake forge: branches, pull requests, labels and CI per commit. */
export class FakeRepoState {
  readonly branches = new Map<string, string>([['main', sha('main')]]);
  readonly pulls: FakePull[] = [];
  readonly labels: Array<{ id: number; name: string; color: string }> = [];
  readonly checks = new Map<string, CheckScenario>();
  /** Told when the API deletes a branch, so a test can delete it in the real git server too. */
  onBranchDeleted: (name: string) => void = () => undefined;
  /** Asked to really merge a pull request (in the test's git server); returns the new base commit, or undefined to make one up. */
  onMerge: (pull: FakePull, how: string) => string | undefined = () => undefined;
  private nextNumber = 1;

  constructor(
    readonly owner: string,
    readonly name: string,
  ) {}

  /** Creates branch `name` at a made-up commit and returns its SHA. */
  pushBranch(name: string): string {
    const commit = sha(`${name}-${this.branches.size}-${Date.now()}`);
    this.branches.set(name, commit);
    return commit;
  }

  openPull(input: {
    head: string;
    base: string;
    title: string;
    body: string;
    draft?: boolean;
  }): FakePull {
    const pull: FakePull = {
      number: this.nextNumber++,
      head: input.head,
      base: input.base,
      title: input.title,
      body: input.body,
      state: 'open',
      draft: input.draft ?? false,
      headSha: this.branches.get(input.head) ?? sha(input.head),
      conflict: false,
      labels: [],
      comments: [],
      mergedWith: undefined,
      mergeCommitSha: undefined,
    };
    this.pulls.push(pull);
    return pull;
  }

  pull(number: number): FakePull | undefined {
    return this.pulls.find((p) => p.number === number);
  }

  openPullFor(head: string, base?: string): FakePull | undefined {
    return this.pulls.find(
      (p) => p.state === 'open' && p.head === head && (base === undefined || p.base === base),
    );
  }

  merge(pull: FakePull, how: string): string {
    pull.state = 'merged';
    pull.mergedWith = how;
    pull.mergeCommitSha = this.onMerge(pull, how) ?? sha(`merge-${pull.number}`);
    this.branches.set(pull.base, pull.mergeCommitSha);
    return pull.mergeCommitSha;
  }

  /** Deletes a branch as the API does: false when there was none; onBranchDeleted hears of it. */
  deleteBranch(name: string): boolean {
    const had = this.branches.delete(name);
    if (had) this.onBranchDeleted(name);
    return had;
  }

  /** The scenario of a ref: a SHA, or a branch name resolved to its SHA. */
  scenarioOf(ref: string): CheckScenario {
    return this.checks.get(ref) ?? this.checks.get(this.branches.get(ref) ?? '') ?? 'none';
  }

  label(name: string): { id: number; name: string; color: string } {
    const found = this.labels.find((l) => l.name === name);
    if (found) return found;
    const created = { id: this.labels.length + 1, name, color: 'ededed' };
    this.labels.push(created);
    return created;
  }
}

/** A deterministic 40-hex "commit SHA" for a seed. */
export function sha(seed: string): string {
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    for (const ch of `${seed}:${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}
