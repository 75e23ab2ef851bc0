import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgenticEnv } from '../../src/config/index.js';
import { loadConfigSync } from '../../src/config/load-sync.js';
import { createAppContext } from '../../src/compose.js';
import { type AppContext, type ContextOptions } from '../../src/context.js';
import type { Clock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';

/** A fresh CoreRoot in a temp dir, removed by `cleanup`. */
export interface TempRoot {
  coreRoot: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** Makes a temp CoreRoot. */
export function tempRoot(prefix = 'agentic-test-'): TempRoot {
  const coreRoot = mkdtempSync(join(tmpdir(), prefix));
  return {
    coreRoot,
    env: { CORE_WORKSPACE: coreRoot, HOME: coreRoot },
    cleanup: () => rmSync(coreRoot, { recursive: true, force: true }),
  };
}

/** A context on `root`, with a silent logger unless one is given. */
export function testContext(
  root: TempRoot,
  options: Partial<Omit<ContextOptions, 'config'>> & {
    env?: AgenticEnv;
    configPath?: string;
    clock?: Clock;
  } = {},
): AppContext {
  const config = loadConfigSync({ config: options.configPath }, { ...root.env, ...options.env });
  return createAppContext({ logger: silentLogger(), ...options, config });
}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current: Date = new Date('2026-01-01T00:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(date: Date): void {
    this.current = new Date(date);
  }
}
