import { readFileSync } from 'node:fs';
import type { Config, ForgeConfig } from '../config/index.js';
import { AgenticError } from '../lib/errors.js';
import type { AdapterOptions } from './adapter.js';
import { describeTokenSource, forgeLabel, type TokenSource } from './errors.js';
import type { FetchFn } from './http.js';
import { parseRemoteUrl } from './remote-url.js';
import type { Forge, ForgeKind } from './types.js';

/** What choosing a forge needs from the configuration: agents.yaml `forges:` and the token variables. */
export interface ForgeSettings {
  readonly forges: readonly ForgeConfig[];
  /** Token variables by name, as `Config.forgeEnv` holds them. */
  readonly forgeEnv: Readonly<Record<string, string>>;
}

/** The forge settings of a loaded configuration. */
export function forgeSettingsOf(config: Config): ForgeSettings {
  return { forges: config.file.forges, forgeEnv: config.forgeEnv };
}

/** A repository on a forge, resolved from a remote URL: safe to show (it holds no token). */
export interface ForgeTarget {
  readonly kind: ForgeKind;
  readonly host: string;
  readonly apiUrl: string;
  readonly owner: string;
  readonly repo: string;
  readonly tokenSource: TokenSource;
}

/** I/O the adapters use; production defaults: global fetch, Date.now, setTimeout, readFileSync. */
export interface ForgeDeps {
  readonly fetch?: FetchFn;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly readFile?: (path: string) => string;
}

/** Forges known without configuration. */
const KNOWN_HOSTS: Record<string, { kind: ForgeKind; apiUrl: string }> = {
  'github.com': { kind: 'github', apiUrl: 'https://api.github.com' },
  'gitlab.com': { kind: 'gitlab', apiUrl: 'https://gitlab.com/api/v4' },
};

/** The usual token variables of each kind, first wins. */
const TOKEN_VARS: Record<ForgeKind, readonly string[]> = {
  github: ['GITHUB_TOKEN', 'GH_TOKEN'],
  gitlab: ['GITLAB_TOKEN'],
  gitea: ['GITEA_TOKEN', 'FORGEJO_TOKEN'],
  forgejo: ['FORGEJO_TOKEN', 'GITEA_TOKEN'],
};

/** The API root a self-hosted forge usually serves on its host. */
function defaultApiUrl(kind: ForgeKind, host: string): string {
  switch (kind) {
    case 'github':
      return `https://${host}/api/v3`;
    case 'gitlab':
      return `https://${host}/api/v4`;
    case 'gitea':
    case 'forgejo':
      return `https://${host}/api/v1`;
  }
}

/**
 * Which forge serves `remoteUrl`: an agents.yaml `forges[]` entry whose host matches the URL's
 * host as written (case-insensitive, port included), else github.com/gitlab.com. Throws
 * FORGE_UNKNOWN for another host or a URL that is not a forge's.
 */
export function resolveForgeTarget(remoteUrl: string, settings: ForgeSettings): ForgeTarget {
  const remote = parseRemoteUrl(remoteUrl);
  const host = remote.host.toLowerCase();
  const entry = settings.forges.find((f) => f.host.toLowerCase() === host);
  if (entry !== undefined) {
    return {
      kind: entry.kind,
      host: remote.host,
      apiUrl: (entry.api_url ?? defaultApiUrl(entry.kind, remote.host)).replace(/\/+$/, ''),
      owner: remote.owner,
      repo: remote.repo,
      tokenSource:
        entry.token_file !== undefined
          ? { kind: 'file', path: entry.token_file }
          : {
              kind: 'env',
              names: entry.token_env !== undefined ? [entry.token_env] : TOKEN_VARS[entry.kind],
            },
    };
  }
  const known = KNOWN_HOSTS[host];
  if (known === undefined) {
    throw new AgenticError(
      'FORGE_UNKNOWN',
      `no forge is configured for host "${remote.host}": add it to agents.yaml, e.g. forges: [{host: "${remote.host}", kind: gitea|forgejo|gitlab|github, api_url: "https://…"}]`,
    );
  }
  return {
    kind: known.kind,
    host: remote.host,
    apiUrl: known.apiUrl,
    owner: remote.owner,
    repo: remote.repo,
    tokenSource: { kind: 'env', names: TOKEN_VARS[known.kind] },
  };
}

/**
 * The Forge for a remote URL, with its token read from the configured variable or file. Rejects
 * with FORGE_UNKNOWN (host not a known forge) or FORGE_TOKEN_MISSING (no token where it should
 * be). Each adapter, and the client library under it, is loaded only when its kind is opened.
 */
export async function openForge(
  remoteUrl: string,
  settings: ForgeSettings,
  deps: ForgeDeps = {},
): Promise<Forge> {
  const target = resolveForgeTarget(remoteUrl, settings);
  const token = readToken(target, settings, deps.readFile ?? ((p) => readFileSync(p, 'utf8')));
  const options: AdapterOptions = {
    host: target.host,
    apiUrl: target.apiUrl,
    owner: target.owner,
    repo: target.repo,
    token,
    tokenSource: target.tokenSource,
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
  switch (target.kind) {
    case 'github':
      return new (await import('./github.js')).GitHubForge(options);
    case 'gitlab':
      return new (await import('./gitlab.js')).GitLabForge(options);
    case 'gitea':
    case 'forgejo':
      return new (await import('./gitea.js')).GiteaForge(target.kind, options);
  }
}

function readToken(
  target: ForgeTarget,
  settings: ForgeSettings,
  readFile: (path: string) => string,
): string {
  const source = target.tokenSource;
  let token: string | undefined;
  let problem = 'is not set';
  if (source.kind === 'file') {
    try {
      token = readFile(source.path).trim();
      problem = 'is empty';
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
      problem = `cannot be read (${code})`;
    }
  } else {
    token = source.names.map((n) => settings.forgeEnv[n]).find((v) => v !== undefined);
  }
  if (token === undefined || token === '') {
    throw new AgenticError(
      'FORGE_TOKEN_MISSING',
      `${forgeLabel(target.kind, target.host)}: no token for pull requests on ${target.owner}/${target.repo}: ${describeTokenSource(source)} ${problem}; set it (a token with write access to pull requests and contents), or name another with forges[].token_env / token_file in agents.yaml`,
    );
  }
  return token;
}
