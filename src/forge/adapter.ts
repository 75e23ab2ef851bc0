import type { z } from 'zod';
import { forgeError, type FailureContext, type TokenSource } from './errors.js';
import type { FetchFn } from './http.js';
import type { ForgeKind } from './types.js';

/** What every adapter is built from: where the repository is, the token, and the injected I/O. */
export interface AdapterOptions {
  /** The host as written in the remote URL (with its port). */
  readonly host: string;
  /** The API root: `https://api.github.com`, `https://host/api/v1` (Gitea/Forgejo), `https://host/api/v4` (GitLab). */
  readonly apiUrl: string;
  /** GitHub/Gitea owner, or GitLab namespace path. */
  readonly owner: string;
  readonly repo: string;
  readonly token: string;
  readonly tokenSource: TokenSource;
  readonly fetch: FetchFn;
  readonly now: () => number;
  /** Short waits only (a GitLab rebase finishing); never used to wait out a rate limit. */
  readonly sleep: (ms: number) => Promise<void>;
}

/** The failure context of an adapter: everything a FORGE_* message needs, and the token to keep out of it. */
export function failureContext(kind: ForgeKind, options: AdapterOptions): FailureContext {
  return {
    kind,
    host: options.host,
    apiUrl: options.apiUrl,
    repoPath: `${options.owner}/${options.repo}`,
    tokenSource: options.tokenSource,
    secrets: [options.token],
    now: options.now,
  };
}

/** Whether a forge's message says the thing asked for was already there (an open pull request for the branch). */
export function saysAlreadyExists(message: string): boolean {
  return /already exists/i.test(message);
}

/** Reads an answer's body with `schema`; a shape we do not understand is the forge's (or api_url's) fault, not the user's. */
export function parseAnswer<T>(ctx: FailureContext, schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw forgeError(
    ctx,
    'FORGE_UNAVAILABLE',
    'read answer',
    `unexpected answer from ${ctx.apiUrl} (${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}); is forges[].api_url in agents.yaml right?`,
  );
}
