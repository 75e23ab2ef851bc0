import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresCluster } from './postgres.js';

const root = join(import.meta.dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

let cluster: PostgresCluster | undefined;

/** Builds dist/ when src/ is newer (CLI tests run the real binary) and starts one PostgreSQL cluster for the run. */
export async function setup(project: TestProject): Promise<void> {
  const built = (() => {
    try {
      return statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (newestMtime(join(root, 'src')) > built) {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: root, stdio: 'inherit' },
    );
  }
  cluster = await startPostgres();
  project.provide('postgresUrl', cluster?.url ?? '');
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
