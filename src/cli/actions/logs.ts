import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Command } from 'commander';

import { logPath } from '../../dispatch/launch.js';

import { renderLogLine } from '../../dispatch/transcript.js';
import { readRecord } from '../../lifecycle/index.js';

import { AgenticError } from '../../lib/errors.js';
import { printable } from '../../lib/text.js';
import { isTerminal, parseWorkspaceName, poolOf, workspaceDir } from '../../workspace/index.js';
import { runVerb, usage, writeJson } from './run-verb.js';

/** Runs `logs`. */
export async function logs(
  name: string,
  opts: { follow?: boolean; raw?: boolean },
  cmd: Command,
): Promise<void> {
  return runVerb(cmd, async (ctx, common) => {
    parseWorkspaceName(name);
    if (common.json && opts.follow) usage('follow', '--follow and --json do not go together');
    const record = await readRecord(ctx, name);
    if (!record)
      throw new AgenticError('WORKSPACE_NOT_FOUND', `workspace not found: ${name}`, {
        field: 'workspace',
      });
    const path = logPath(workspaceDir(ctx.config.workspaceRoot, name), poolOf(record.agent));
    if (common.json)
      return writeJson({
        workspace: name,
        status: record.status,
        agent: record.agent,
        path,
        output: existsSync(path) ? readFileSync(path, 'utf8') : '',
      });
    const out = opts.raw ? rawWriter() : transcriptWriter();
    let offset = copyFrom(path, 0, out.write);
    while (opts.follow) {
      const now = await readRecord(ctx, name);
      if (!now || isTerminal(now.status)) break;
      await new Promise((r) => setTimeout(r, 250));
      offset = copyFrom(path, offset, out.write);
    }
    copyFrom(path, offset, out.write);
    out.end();
  });
}

function copyFrom(path: string, offset: number, write: (buf: Buffer) => void): number {
  if (!existsSync(path)) return offset;
  const size = statSync(path).size;
  if (size <= offset) return offset;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    write(buf);
  } finally {
    closeSync(fd);
  }
  return size;
}

interface LogWriter {
  write(buf: Buffer): void;
  end(): void;
}

function rawWriter(): LogWriter {
  return { write: (buf) => process.stdout.write(buf), end: () => undefined };
}

/** Renders whole lines as they arrive; a line still being written waits for its end. */
function transcriptWriter(): LogWriter {
  let pending = '';
  const emit = (line: string): void => {
    for (const out of renderLogLine(line)) process.stdout.write(`${printable(out)}\n`);
  };
  return {
    write(buf) {
      const lines = (pending + buf.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(emit);
    },
    end() {
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}
