import { isAbsolute, join, resolve } from 'node:path';
import { AgenticError } from '../lib/errors.js';

/** The environment variables the path rules read (README: where state lives). */
export interface PathEnv {
  CORE_WORKSPACE?: string | undefined;
  CORE_HOME?: string | undefined;
  HOME?: string | undefined;
  DIR_HOME?: string | undefined;
}

/** Home directory: `$CORE_HOME`, else `$HOME`, else `$DIR_HOME`; throws CONFIG_INVALID when none is set. */
export function resolveHome(env: PathEnv): string {
  const home = nonEmpty(env.CORE_HOME) ?? nonEmpty(env.HOME) ?? nonEmpty(env.DIR_HOME);
  if (!home) {
    throw new AgenticError(
      'CONFIG_INVALID',
      'cannot find a home directory: set CORE_WORKSPACE, CORE_HOME or HOME',
      { field: 'HOME' },
    );
  }
  return resolve(home);
}

/** CoreRoot: `$CORE_WORKSPACE` if set, else `<home>/.core`. */
export function resolveCoreRoot(env: PathEnv): string {
  const explicit = nonEmpty(env.CORE_WORKSPACE);
  if (explicit) return resolve(explicit);
  return join(resolveHome(env), '.core');
}

/** Workspace root: agents.yaml `dispatch.workspace_root` (relative to CoreRoot when not absolute), else `<CoreRoot>/workspace`. */
export function resolveWorkspaceRoot(coreRoot: string, configured: string | undefined): string {
  if (!configured) return join(coreRoot, 'workspace');
  return isAbsolute(configured) ? resolve(configured) : resolve(coreRoot, configured);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

/** The dispatcher's own files under `<CoreRoot>/runtime/`. */
export interface RuntimePaths {
  /** Back-off, fast-failure counts and rate windows (the `runtime` group's file). */
  dispatch: string;
  /** Present while `agentic stop` holds dispatching frozen. */
  frozen: string;
  /** The lock file the file engine (degraded mode) serialises its transactions on. */
  stateLock: string;
}

/** Paths of {@link RuntimePaths} for one CoreRoot. */
export function runtimePaths(coreRoot: string): RuntimePaths {
  const dir = join(coreRoot, 'runtime');
  return {
    dispatch: join(dir, 'dispatch.json'),
    frozen: join(dir, 'frozen'),
    stateLock: join(dir, 'state.lock'),
  };
}
