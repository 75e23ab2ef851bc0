import { AgenticError } from '../lib/errors.js';

/** Where a git remote lives: its host as written (port kept), namespace path and repository name. */
export interface RemoteRepo {
  /** The host exactly as the URL writes it, with its port when it has one (`git.example.com:3000`). */
  readonly host: string;
  /** Everything before the repository name: a GitHub/Gitea owner, or a GitLab group path (`group/sub`). */
  readonly owner: string;
  /** The repository name, without `.git`. */
  readonly repo: string;
}

// scheme://[userinfo@]host[:port]/path — parsed by hand: WHATWG URL drops a default port, and
// the host must stay as the user wrote it to match agents.yaml `forges[].host`.
const URL_FORM =
  /^(?:https?|ssh|git\+ssh|ssh\+git|git):\/\/(?:[^@/]*@)?(\[[^\]]+\](?::\d+)?|[^/:]+(?::\d+)?)\/(.+)$/i;
// [user@]host:path — git's scp-like syntax; a host has no slash and the path does not start with one.
const SCP_FORM = /^(?:[^@/:]+@)?([^/:]+):(?!\/)(.+)$/;

/**
 * Parses an https, ssh or scp-like (`git@host:owner/repo.git`) remote URL. Credentials in the
 * URL are dropped, never returned. Throws FORGE_UNKNOWN for local paths, file:// URLs and URLs
 * without an owner and a repository.
 */
export function parseRemoteUrl(url: string): RemoteRepo {
  const text = url.trim();
  const match = URL_FORM.exec(text) ?? (text.includes('://') ? null : SCP_FORM.exec(text));
  const host = match?.[1];
  const path = match?.[2]
    ?.replace(/[?#].*$/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '');
  const segments = path?.split('/').filter((s) => s !== '') ?? [];
  const repo = segments.pop();
  if (host === undefined || repo === undefined || segments.length === 0) {
    throw new AgenticError(
      'FORGE_UNKNOWN',
      `remote "${redactUserinfo(text)}" is not a forge URL (expected https://host/owner/repo, ssh://git@host/owner/repo or git@host:owner/repo); pull requests need a GitHub, GitLab or Gitea/Forgejo remote`,
    );
  }
  return { host, owner: segments.join('/'), repo };
}

/** The URL with any `user:password@` replaced, so a remote can be named in a message. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^@/]*@/i, '$1***@');
}
