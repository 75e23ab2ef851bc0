import type { Command } from 'commander';
import { VERSION } from '../lib/version.js';
import { pausedPoolsFromFile } from '../dispatch/runtime-state.js';
import { oneLine, runVerb, writeJson } from './common.js';

/** Registers `agentic doctor`. */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show where agentic keeps its state and whether the store is healthy')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const store = await ctx.store();
        const report = {
          version: VERSION,
          core_root: ctx.config.coreRoot,
          workspace_root: ctx.config.workspaceRoot,
          config_path: ctx.config.configPath,
          store: {
            engine:
              store.engine === 'none'
                ? ctx.config.storeUrl
                  ? 'postgres'
                  : 'sqlite'
                : store.engine,
            path: store.location,
            schema_version: store.schemaVersion,
            degraded: store.degraded,
            reason: store.reason ?? null,
          },
          paused: pausedPoolsFromFile(ctx.config.coreRoot, ctx.clock.now()),
        };
        if (common.json) return writeJson(report);
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
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
