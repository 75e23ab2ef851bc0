import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { leaseHeld, readLease } from '../../dispatch/runner-lease.js';
import { createAppContext } from '../../compose.js';
import { VERSION } from '../../lib/version.js';
import { pausedPoolsFromFile } from '../../dispatch/runtime-state.js';
import { checkSqliteIntegrity } from '../../store/index.js';
import { AgenticError } from '../../lib/errors.js';
import { redactUrl } from '../../lib/text.js';
import type { AppContext } from '../../context.js';
import type { StateStore } from '../../store/index.js';
import { EXIT, oneLine, runVerb, writeJson } from './run-verb.js';

/** Runs `doctor`. */
export async function doctor(_opts: unknown, cmd: Command): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    let store: StateStore;
    try {
      store = await ctx.store();
    } catch (err) {
      // The fleet database has no degraded fallback: not answering is the finding itself.
      if (
        !(err instanceof AgenticError && err.code === 'STORE_UNAVAILABLE') ||
        !ctx.config.storeUrl
      )
        throw err;
      return unreachable(ctx, err.message, common.json === true);
    }
    const lease = readLease(ctx.config.coreRoot);
    const runnerUp = leaseHeld(ctx.config.coreRoot, ctx.clock.now());
    // The flag's file mirror: read without the store, which may be the thing being checked.
    const frozen = existsSync(join(ctx.config.coreRoot, 'runtime', 'frozen'));
    // The open above only reads the schema; a damaged page shows only to a full check.
    let integrity: string | null = null;
    let rebuilt = false;
    if (store.engine === 'sqlite') {
      integrity = await checkSqliteIntegrity(store.location);
      if (integrity !== 'ok' && existsSync(`${store.location}.damaged`)) {
        // Repair now: a fresh context moves the damaged files aside and rebuilds.
        await ctx.close();
        const fresh = createAppContext({ config: ctx.config, logger: ctx.logger });
        store = await fresh.store();
        rebuilt = true;
        await fresh.close();
      }
    }
    const report = {
      version: VERSION,
      runner: { running: runnerUp, pid: runnerUp ? (lease?.pid ?? null) : null, frozen },
      core_root: ctx.config.coreRoot,
      workspace_root: ctx.config.workspaceRoot,
      config_path: ctx.config.configPath,
      store: {
        // The configured engine: when it could not be opened, `degraded` and `reason` say so.
        engine: store.degraded ? (ctx.config.storeUrl ? 'postgres' : 'sqlite') : store.engine,
        path: store.location,
        schema_version: store.schemaVersion,
        reachable: true,
        degraded: store.degraded,
        reason: store.reason ?? null,
        integrity,
        rebuilt,
      },
      paused: pausedPoolsFromFile(ctx.config.coreRoot, ctx.clock.now()),
    };
    if (common.json) {
      writeJson(report);
      return integrity !== null && integrity !== 'ok' && !rebuilt ? EXIT.failed : EXIT.ok;
    }
    const lines = [
      `agentic ${report.version}`,
      `core root:      ${report.core_root}`,
      `workspace root: ${report.workspace_root}`,
      `config:         ${report.config_path ?? '(built-in defaults)'}`,
      `store:          ${report.store.engine} at ${report.store.path}, schema ${report.store.schema_version}`,
      report.store.degraded
        ? `                DEGRADED: ${report.store.reason ?? ''}`
        : `                healthy`,
      ...report.paused.map(
        (p) =>
          `paused pool:    ${p.pool} until ${p.until}: ${oneLine(p.reason, 160)} (agentic start clears it)`,
      ),
    ];
    lines.push(
      `runner:         ${runnerUp ? `running (pid ${lease?.pid ?? '?'})` : 'not running — queued work waits for `agentic daemon`'}${frozen ? '; FROZEN (agentic start resumes)' : ''}`,
    );
    if (integrity !== null && integrity !== 'ok')
      lines.push(
        `integrity:      DAMAGED (${integrity})${rebuilt ? '; moved aside and rebuilt from the workspaces’ files' : ''}`,
      );
    else if (integrity === 'ok') lines.push('integrity:      ok (quick_check)');
    process.stdout.write(`${lines.join('\n')}\n`);
    return integrity !== null && integrity !== 'ok' && !rebuilt ? EXIT.failed : EXIT.ok;
  });
}

/** The doctor's report when the fleet database does not answer: what is known without it, exit 1. */
function unreachable(ctx: AppContext, reason: string, json: boolean): number {
  const runnerUp = leaseHeld(ctx.config.coreRoot, ctx.clock.now());
  const lease = readLease(ctx.config.coreRoot);
  const url = redactUrl(ctx.config.storeUrl ?? '');
  if (json) {
    writeJson({
      version: VERSION,
      runner: { running: runnerUp, pid: runnerUp ? (lease?.pid ?? null) : null },
      core_root: ctx.config.coreRoot,
      workspace_root: ctx.config.workspaceRoot,
      config_path: ctx.config.configPath,
      store: { engine: 'postgres', path: url, reachable: false, degraded: false, reason },
    });
    return EXIT.failed;
  }
  process.stdout.write(
    [
      `agentic ${VERSION}`,
      `core root:      ${ctx.config.coreRoot}`,
      `workspace root: ${ctx.config.workspaceRoot}`,
      `config:         ${ctx.config.configPath ?? '(built-in defaults)'}`,
      `store:          postgres at ${url} (fleet database)`,
      `                UNREACHABLE: ${reason}`,
      '                no degraded fallback in fleet mode: the daemon waits for it, store commands fail',
      `runner:         ${runnerUp ? `running (pid ${lease?.pid ?? '?'}), waiting for the database` : 'not running'}`,
    ].join('\n') + '\n',
  );
  return EXIT.failed;
}
