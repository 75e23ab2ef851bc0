import { execFileSync } from 'node:child_process';
import { GIT_ENV } from './dispatch.js';

/** Runs git in `cwd` with the test identity; returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}
