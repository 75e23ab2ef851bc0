import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AgenticError } from '../lib/errors.js';
import { sourceKind } from '../lib/git.js';
import { hasControlCharacters } from '../lib/text.js';
import { validateSegment } from '../workspace/index.js';

/** A repository source: a local git checkout or a remote git URL. */
export interface RepoSource {
  kind: 'local' | 'url';
  /** Absolute path (local) or the URL as given. */
  location: string;
  /** Repository name derived from the path or URL. */
  name: string;
}

/** Classifies a stored source (validated when it was enqueued) without asking git again. */
export function sourceOf(location: string): RepoSource {
  const kind = sourceKind(location);
  const last = location.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
  return { kind, location, name: last.replace(/\.git$/, '') };
}

/**
 * Parses `--repo`: a git URL (https, ssh, git, file, or scp-like `user@host:path`) or a local
 * directory that is a git repository. Throws INPUT_INVALID naming `repo` for anything else,
 * including values starting with `-` that git could take for an option.
 */
export function parseRepoSource(value: string, cwd: string): RepoSource {
  const fail = (why: string): never => {
    throw new AgenticError('INPUT_INVALID', `repo ${why} (got ${JSON.stringify(value)})`, {
      field: 'repo',
    });
  };
  if (value.trim() === '') fail('must not be empty');
  if (value.startsWith('-')) fail('must not start with "-"');
  if (hasControlCharacters(value)) fail('must not contain control characters');
  if (sourceKind(value) === 'url') {
    const last = value.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
    return { kind: 'url', location: value, name: repoNameFrom(last.replace(/\.git$/, '')) };
  }
  const path = resolve(cwd, value);
  if (!existsSync(path) || !statSync(path).isDirectory())
    fail('is neither a git URL nor an existing directory');
  // A work tree has .git (a directory, or a file for worktrees); a bare repository has HEAD and
  // objects/. Checked on disk: a git process per dispatch costs milliseconds.
  const isRepo =
    existsSync(join(path, '.git')) ||
    (existsSync(join(path, 'HEAD')) && existsSync(join(path, 'objects')));
  if (!isRepo) fail('is a directory but not a git repository');
  return {
    kind: 'local',
    location: path,
    name: repoNameFrom(basename(path).replace(/\.git$/, '')),
  };
}

function repoNameFrom(raw: string): string {
  return validateSegment('repo', raw, 'repo name derived from --repo (use --name to set one)');
}

/** Lower-case slug of a task for branch names: letters, digits and dashes, at most 40 characters. */
export function slugify(task: string): string {
  const slug = task
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? 'task' : slug;
}
