import type { Command } from 'commander';
import { readAllRecords } from '../lifecycle/index.js';
import { workspaceDir } from '../workspace/index.js';
import { runVerb, writeJson, writeTable } from './common.js';

/** Registers `agentic workspace …`. */
export function registerWorkspace(program: Command): Command {
  const workspace = program.command('workspace').description('list, clean and measure workspaces');
  workspace
    .command('list')
    .description('list the workspaces under the workspace root')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) =>
      runVerb(cmd, async (ctx, common) => {
        const records = await readAllRecords(ctx);
        const workspaces = [...records]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, r]) => ({
            name,
            status: r.status,
            agent: r.agent,
            path: workspaceDir(ctx.config.workspaceRoot, name),
          }));
        if (common.json) return writeJson({ workspaces });
        if (workspaces.length === 0) return void process.stdout.write('no workspaces\n');
        writeTable(
          ['NAME', 'STATUS', 'AGENT', 'PATH'],
          workspaces.map((w) => [w.name, w.status, w.agent, w.path]),
        );
      }),
    );
  return workspace;
}
