/** The built-in preamble of every agent prompt (agents.yaml `dispatch.prompt_template` replaces it). */
export const DEFAULT_PROMPT_TEMPLATE = `You are working in a git clone at {repo_dir}, on the branch {branch} (started from {base}).
- Do the task in this clone and commit your work on {branch}. Do not push, and do not switch branches.
- If you need a human decision before you can go on, write the question to BLOCKED.md at the repository root and stop.

Task:
{task}`;

/** What a prompt is made of. */
export interface PromptParts {
  task: string;
  branch: string;
  base: string;
  workspace: string;
  repoDir: string;
  /** The answer to the question of an earlier run (repo/ANSWER.md), if any. */
  answer: string | undefined;
  /** The previous run stopped at a usage limit. */
  continueAfterLimit: boolean;
  /**
   * The CLI continues the earlier run's conversation, which already holds the preamble and the
   * task: the prompt is then only what is new (the answer, the note to continue).
   */
  resumed?: boolean;
}

/** Longest answer pasted into a prompt; the whole of it stays in ANSWER.md. */
const MAX_ANSWER = 16_000;

/**
 * Fills the template (default {@link DEFAULT_PROMPT_TEMPLATE}) with the task and workspace
 * facts, then appends the answer to an earlier question and a note to continue after a usage
 * limit. Placeholders are replaced in one pass, so a task containing `{branch}` stays as written.
 */
export function buildPrompt(template: string | undefined, p: PromptParts): string {
  const values: Record<string, string> = {
    task: p.task,
    branch: p.branch,
    base: p.base,
    workspace: p.workspace,
    repo_dir: p.repoDir,
  };
  const parts = p.resumed
    ? []
    : [
        (template ?? DEFAULT_PROMPT_TEMPLATE).replace(
          /\{(task|branch|base|workspace|repo_dir)\}/g,
          (_m, key: string) => values[key] ?? '',
        ),
      ];
  if (p.answer !== undefined) {
    const answer =
      p.answer.length > MAX_ANSWER
        ? `${p.answer.slice(0, MAX_ANSWER)}\n[…cut; read ANSWER.md]`
        : p.answer;
    parts.push(
      ...(p.resumed
        ? ['The answer to your question (also in ANSWER.md at the repository root):']
        : [
            '',
            'An earlier run of yours stopped to ask a question (or its work was sent back). The answer, also in ANSWER.md at the repository root:',
          ]),
      '',
      answer.trim(),
      '',
      'Continue the task with this answer.',
    );
  }
  if (p.continueAfterLimit) {
    parts.push(
      ...(parts.length > 0 ? [''] : []),
      'Your previous run stopped at a usage limit. Continue the task from where you left off; check the working tree and the commits on your branch first.',
    );
  }
  // A resume with neither an answer nor a limit behind it (a failed run resumed as is).
  if (parts.length === 0) parts.push('Continue the task from where you left off.');
  return parts.join('\n');
}
