import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Command } from 'commander';

import type { AppContext } from '../../context.js';
import { logPath } from '../../dispatch/launch.js';
import { readWorkspaceLog, remoteLogNode } from '../../dispatch/log-request.js';
import { LOG_SLICE_MAX_BYTES } from '../../dispatch/log-slice.js';

import { renderLogLine } from '../../dispatch/transcript.js';
import { readRecord } from '../../lifecycle/index.js';

import { AgenticError } from '../../lib/errors.js';
import { printable } from '../../lib/text.js';
import {
  isTerminal,
  parseWorkspaceName,
  poolOf,
  workspaceDir,
  type StatusRecord,
} from '../../workspace/index.js';
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
    if (remoteLogNode(ctx, await ctx.store(), record) !== undefined)
      return remoteLogs(ctx, name, record, opts, common.json === true);
    const path = logPath(workspaceDir(ctx.config.workspaceRoot, name), poolOf(record.agent));
    if (common.json)
      return writeJson({
        workspace: name,
        status: record.status,
        agent: record.agent,
        node: record.node ?? null,
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

/**
 * `logs` of a workspace another node of the fleet ran: its log is on that node's disk, so that
 * node reads it and answers through the store, at most LOG_SLICE_MAX_BYTES an answer (without
 * --follow, the log's last bytes up to that size). Says which node it came from on stderr.
 */
async function remoteLogs(
  ctx: AppContext,
  name: string,
  record: StatusRecord,
  opts: { follow?: boolean; raw?: boolean },
  json: boolean,
): Promise<void> {
  const first = await readWorkspaceLog(ctx, name, record, { maxBytes: LOG_SLICE_MAX_BYTES });
  const cut = first.slice.start > 0;
  if (json)
    return writeJson({
      workspace: name,
      status: record.status,
      agent: record.agent,
      node: first.node ?? null,
      path: first.path,
      output: first.slice.data.toString('utf8'),
      truncated: cut,
    });
  process.stderr.write(
    `log of node ${first.node ?? '?'}: ${first.path}${cut ? ` (its last ${LOG_SLICE_MAX_BYTES} bytes)` : ''}\n`,
  );
  const out = opts.raw ? rawWriter() : transcriptWriter();
  out.write(first.slice.data);
  let offset = first.slice.start + first.slice.data.length;
  while (opts.follow) {
    const now = await readRecord(ctx, name);
    const over = !now || isTerminal(now.status);
    for (;;) {
      const next = await readWorkspaceLog(ctx, name, now ?? record, {
        from: offset,
        maxBytes: LOG_SLICE_MAX_BYTES,
      });
      out.write(next.slice.data);
      offset = next.slice.start + next.slice.data.length;
      if (next.slice.data.length < LOG_SLICE_MAX_BYTES) break;
    }
    if (over) break;
    // Each read is a round trip through the owning node: once a second is enough to follow.
    await new Promise((r) => setTimeout(r, 1_000));
  }
  out.end();
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
