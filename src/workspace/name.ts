import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AgenticError } from '../lib/errors.js';
import { hasControlCharacters, hasUnsafeUnicode } from '../lib/text.js';

/** Longest accepted name segment (org, repo or leaf). */
export const MAX_SEGMENT_LENGTH = 100;

/** The three parts of a workspace name `org/repo/leaf`. */
export interface WorkspaceParts {
  org: string;
  repo: string;
  leaf: string;
}

/**
 * Validates one segment of a workspace name; throws WORKSPACE_NAME_INVALID naming `field`
 * for empty values, `.`/`..`, path separators, NUL or control characters, lone surrogates or
 * invisible format characters (bidi overrides), a leading `-`, or more than 100 characters.
 */
export function validateSegment(field: string, value: string, label = field): string {
  const fail = (why: string): never => {
    throw new AgenticError(
      'WORKSPACE_NAME_INVALID',
      `${label} ${why} (got ${JSON.stringify(value)})`,
      { field },
    );
  };
  if (value.length === 0) fail('must not be empty');
  if (value.length > MAX_SEGMENT_LENGTH) fail(`must be at most ${MAX_SEGMENT_LENGTH} characters`);
  if (hasControlCharacters(value)) fail('must not contain NUL or control characters');
  if (hasUnsafeUnicode(value))
    fail('must not contain lone surrogates or invisible format characters (e.g. bidi overrides)');
  if (value.includes('/') || value.includes('\\')) fail('must not contain a path separator');
  if (value === '.' || value === '..') fail('must not be "." or ".."');
  if (value.startsWith('-')) fail('must not start with "-"');
  if (/\s/.test(value)) fail('must not contain whitespace');
  return value;
}

/** Builds and validates the name `org/repo/leaf`; throws WORKSPACE_NAME_INVALID. */
export function workspaceName(parts: WorkspaceParts): string {
  validateSegment('org', parts.org);
  validateSegment('repo', parts.repo);
  validateSegment('leaf', parts.leaf);
  return `${parts.org}/${parts.repo}/${parts.leaf}`;
}

/** Splits and validates a workspace name; throws WORKSPACE_NAME_INVALID unless it is exactly `org/repo/leaf`. */
export function parseWorkspaceName(name: string, field = 'workspace'): WorkspaceParts {
  const segments = name.split('/');
  if (segments.length !== 3) {
    throw new AgenticError(
      'WORKSPACE_NAME_INVALID',
      `${field} must look like org/repo/leaf, e.g. core/go-io/task-42 (got ${JSON.stringify(name)})`,
      { field },
    );
  }
  const [org = '', repo = '', leaf = ''] = segments;
  return {
    org: validateSegment(field, org, `${field} org segment`),
    repo: validateSegment(field, repo, `${field} repo segment`),
    leaf: validateSegment(field, leaf, `${field} leaf segment`),
  };
}

/**
 * Picks the leaf of a new workspace: `pr-<N>` for a PR, else `task-<N>` for an issue, else the
 * branch with `/` replaced by `-`, else a generated unique id.
 */
export function leafFor(input: {
  pr?: number | undefined;
  issue?: number | undefined;
  branch?: string | undefined;
}): string {
  if (input.pr !== undefined) return `pr-${positive('pr', input.pr)}`;
  if (input.issue !== undefined) return `task-${positive('issue', input.issue)}`;
  if (input.branch !== undefined && input.branch !== '')
    return validateSegment('branch', input.branch.replace(/\//g, '-'));
  return `run-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** Absolute directory of a workspace; the name is validated first, so the result is always under `root`. */
export function workspaceDir(root: string, name: string): string {
  const { org, repo, leaf } = parseWorkspaceName(name);
  return join(root, org, repo, leaf);
}

/**
 * Validates a git branch name by git's ref rules (no `..`, `@{`, control characters, spaces,
 * `~^:?*[\`, leading `-`, a component ending in `.lock`, trailing `/`), refusing also `HEAD` and
 * the other names git gives special refs, lone surrogates and invisible format characters;
 * throws WORKSPACE_NAME_INVALID naming `field` (default `branch`).
 */
export function validateBranch(branch: string, field = 'branch'): string {
  const fail = (why: string): never => {
    throw new AgenticError(
      'WORKSPACE_NAME_INVALID',
      `${field} ${why} (got ${JSON.stringify(branch)})`,
      {
        field,
      },
    );
  };
  if (branch.length === 0) fail('must not be empty');
  if (branch.length > 200) fail('must be at most 200 characters');
  if (SPECIAL_REFS.has(branch))
    fail('must not be a name git gives a special ref (HEAD, FETCH_HEAD, ORIG_HEAD, MERGE_HEAD)');
  if (hasUnsafeUnicode(branch))
    fail('must not contain lone surrogates or invisible format characters (e.g. bidi overrides)');
  if (hasControlCharacters(branch) || /[ ~^:?*[\\]/.test(branch))
    fail('must not contain spaces, control characters or any of ~^:?*[\\');
  if (branch.startsWith('-') || branch.startsWith('/') || branch.endsWith('/'))
    fail('must not start with "-" or start/end with "/"');
  if (branch.includes('..') || branch.includes('@{') || branch.includes('//'))
    fail('must not contain "..", "//" or "@{"');
  if (
    branch.split('/').some((part) => part.endsWith('.lock')) ||
    branch.endsWith('.') ||
    branch === '@'
  )
    fail('is not a valid git branch name');
  if (branch.split('/').some((part) => part.startsWith('.')))
    fail('must not have a component starting with "."');
  return branch;
}

const SPECIAL_REFS = new Set(['HEAD', 'FETCH_HEAD', 'ORIG_HEAD', 'MERGE_HEAD', 'CHERRY_PICK_HEAD']);

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AgenticError('INPUT_INVALID', `${field} must be a positive integer (got ${value})`, {
      field,
    });
  }
  return value;
}
