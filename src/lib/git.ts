import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AgenticError, type ErrorCode } from './errors.js';
import { readTextIfExists } from './fs.js';

const run = promisify(execFile);

/** The environment git runs with: the given one, never prompting, in the C locale. */
export function gitEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };
}

/**
 * Runs `git args` in `cwd` without a shell and returns its trimmed stdout. Throws an
 * AgenticError (`code`, default PREP_FAILED) carrying git's own message.
 */
export async function runGit(
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  code: ErrorCode = 'PREP_FAILED',
): Promise<string> {
  try {
    const { stdout } = await run('git', [...args], {
      cwd,
      env: gitEnv(env),
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new AgenticError(
      code,
      `git ${args[0] ?? ''} failed: ${stderr || (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** The branch HEAD points at, from .git/HEAD; undefined when detached or unreadable. */
export function headBranch(repoDir: string): string | undefined {
  const head = readTextIfExists(join(repoDir, '.git', 'HEAD'));
  const m = head === undefined ? null : /^ref: refs\/heads\/(.+)\n?$/.exec(head);
  return m?.[1];
}

/** The commit of a loose branch ref, read from its file; undefined when packed or absent. */
export function looseRef(repoDir: string, branch: string): string | undefined {
  const commit = readTextIfExists(join(repoDir, '.git', 'refs', 'heads', branch))?.trim() ?? '';
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(commit) ? commit : undefined;
}

const URL_FORMS = [/^(https?|ssh|git|file):\/\/[^\s]+$/, /^[\w.-]+@[\w.-]+:[^\s]+$/];

/** Whether a repository source is a git URL (https, ssh, git, file, or scp-like) or a local path. */
export function sourceKind(location: string): 'local' | 'url' {
  return URL_FORMS.some((re) => re.test(location)) ? 'url' : 'local';
}
