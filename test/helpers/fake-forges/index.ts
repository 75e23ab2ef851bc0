import { randomBytes } from 'node:crypto';
import {
  openForge,
  type Forge,
  type ForgeDeps,
  type ForgeKind,
  type ForgeSettings,
} from '../../../src/forge/index.js';
import { FakeGitea } from './gitea.js';
import { FakeGitHub } from './github.js';
import { FakeGitLab } from './gitlab.js';
import type { FakeForgeServer, Reply } from './server.js';
import type { FakeRepoState } from './state.js';

export { FakeGitea, FakeGitHub, FakeGitLab };
export type { FakeForgeServer, Reply };
export { sha, type CheckScenario, type FakePull } from './state.js';

/** A started fake forge with what a test needs to point an adapter at it. */
export interface FakeForgeHandle {
  readonly kind: ForgeKind;
  readonly server: FakeForgeServer;
  readonly state: FakeRepoState;
  readonly token: string;
  /** The environment variable the token is given in. */
  readonly tokenVar: string;
  /** A remote URL of the repository, in the form users of this forge typically write. */
  readonly remoteUrl: string;
  /** agents.yaml `forges:` and the token variables, as Config would hold them. */
  readonly settings: ForgeSettings;
  /** A failure answer in this forge's error body shape. */
  error(status: number, message: string, headers?: Record<string, string>): Reply;
  /** An adapter for the fake (optionally with another token variable set or other deps). */
  forge(deps?: ForgeDeps, env?: Record<string, string>): Promise<Forge>;
  close(): Promise<void>;
}

/** Starts the fake of `kind` on 127.0.0.1 with a fresh random token. */
export async function startFakeForge(kind: ForgeKind): Promise<FakeForgeHandle> {
  const token = `tok${randomBytes(16).toString('hex')}`;
  const spec = (() => {
    switch (kind) {
      case 'github':
        return {
          server: new FakeGitHub(token),
          remoteUrl: 'https://ghe.test:8443/acme/widgets.git',
          host: 'ghe.test:8443',
          tokenVar: 'GH_TOKEN',
          tokenEnv: undefined,
          error: FakeGitHub.error,
        };
      case 'gitlab':
        return {
          server: new FakeGitLab(token),
          remoteUrl: 'git@gitlab.test:acme/tools/widgets.git',
          host: 'gitlab.test',
          tokenVar: 'GITLAB_TOKEN',
          tokenEnv: undefined,
          error: FakeGitLab.error,
        };
      case 'gitea':
        return {
          server: new FakeGitea(token),
          remoteUrl: 'ssh://git@gitea.test:2222/acme/widgets.git',
          host: 'gitea.test:2222',
          tokenVar: 'GITEA_TOKEN',
          tokenEnv: undefined,
          error: FakeGitea.error,
        };
      case 'forgejo':
        return {
          server: new FakeGitea(token),
          remoteUrl: 'https://forgejo.test/acme/widgets',
          host: 'forgejo.test',
          tokenVar: 'CODEBERG_BOT_TOKEN',
          tokenEnv: 'CODEBERG_BOT_TOKEN',
          error: FakeGitea.error,
        };
    }
  })();
  await spec.server.start();
  const settings = (env: Record<string, string>): ForgeSettings => ({
    forges: [
      {
        host: spec.host,
        kind,
        api_url: spec.server.apiUrl,
        ...(spec.tokenEnv === undefined ? {} : { token_env: spec.tokenEnv }),
      },
    ],
    forgeEnv: env,
  });
  const defaultEnv = { [spec.tokenVar]: token };
  return {
    kind,
    server: spec.server,
    state: spec.server.state,
    token,
    tokenVar: spec.tokenVar,
    remoteUrl: spec.remoteUrl,
    settings: settings(defaultEnv),
    error: (status, message, headers) => spec.error(status, message, headers),
    forge: (deps = {}, env = defaultEnv) => openForge(spec.remoteUrl, settings(env), deps),
    close: () => spec.server.close(),
  };
}
