// Runs the real hub (src/hub, SQLite) in its own process for the sync benchmarks, so the hub and
// the client each get a core. As a child: `node --import tsx bench/hub-child.ts <db> <agent>...`
// prints one JSON line {url, tokens} and serves until SIGTERM. As a module: startHubChild().
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createToken, openHubStorage, startHubServer } from '../src/hub/index.js';
import { silentLogger } from '../src/lib/logger.js';

/** A hub running in a child process. */
export interface HubChild {
  url: string;
  tokens: Record<string, string>;
  /** Stops the hub (SIGTERM) and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts the hub over the SQLite file `db` with one token per agent. */
export async function startHubChild(db: string, agents: string[]): Promise<HubChild> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), db, ...agents],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    if (!child.stdout) return reject(new Error('no stdout'));
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hub child exited with ${code}`)));
  });
  const ready = JSON.parse(line) as { url: string; tokens: Record<string, string> };
  return {
    ...ready,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function main(db: string, agents: string[]): Promise<void> {
  const clock = { now: () => new Date() };
  const storage = await openHubStorage(db, { logger: silentLogger(), now: clock.now });
  const tokens: Record<string, string> = {};
  for (const agent of agents) tokens[agent] = (await createToken(storage, agent, clock)).token;
  const hub = await startHubServer({ storage, clock, logger: silentLogger(), port: 0 });
  process.stdout.write(`${JSON.stringify({ url: hub.url, tokens })}\n`);
  process.once('SIGTERM', () => {
    void hub
      .close()
      .then(() => storage.close())
      .then(() => process.exit(0));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [db, ...agents] = process.argv.slice(2);
  if (db === undefined) throw new Error('usage: hub-child.ts <db> <agent>...');
  await main(db, agents);
}
