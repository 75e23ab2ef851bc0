import { Worker } from 'node:worker_threads';

/**
 * The worker's program, plain CommonJS so that it runs the same from dist/, under tsx and under
 * the test runner (none of which can hand a worker a TypeScript module). It splits the
 * NUL-separated paths (no file name holds a NUL), stats each one under `dir`, and transfers back
 * their mtimes (NaN where none exists).
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { dir, list } = workerData;
const paths = list.length === 0 ? [] : list.split('\\0');
const mtimes = new Float64Array(paths.length);
for (let i = 0; i < paths.length; i++) {
  const stat = statSync(join(dir, paths[i]), { throwIfNoEntry: false });
  mtimes[i] = stat === undefined ? NaN : stat.mtimeMs;
}
parentPort.postMessage(mtimes, [mtimes.buffer]);
`;

/**
 * The mtime (ms) of each path under `dir`, NaN for a path that does not exist, `stat`ed on a
 * worker thread so the calling thread keeps working meanwhile: hydrate reads the registry while
 * the mirrors of every workspace are checked (the joining of the paths happens there too). Other
 * stat errors (EACCES, ELOOP…) reject, as a stat in place would throw.
 */
export function mtimesInWorker(dir: string, paths: readonly string[]): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    // No execArgv: the worker needs none of the parent's loaders (tsx) and starts faster.
    const worker = new Worker(SOURCE, {
      eval: true,
      workerData: { dir, list: paths.join('\0') },
      execArgv: [],
    });
    let result: Float64Array | undefined;
    worker.once('message', (mtimes: Float64Array) => (result = mtimes));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result && result.length === paths.length) resolve(result);
      else reject(new Error(`stat worker exited with code ${code} without a result`));
    });
  });
}
