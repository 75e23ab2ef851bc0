import { createConnection, createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

/** Path of the runner's wake-up socket. */
export function wakeSocketPath(coreRoot: string): string {
  return join(coreRoot, 'runner.sock');
}

/** Longest Unix socket path the kernel accepts (sun_path, minus the terminator). */
const MAX_SOCKET_PATH = 107;

/**
 * Listens on `<CoreRoot>/runner.sock` and calls `onWake` for every connection: how clients
 * wake the runner without it polling. Only the lease holder calls this, so a leftover socket
 * file from a killed runner is removed first. Returns undefined when the path is too long for a
 * Unix socket (the runner then relies on its safety-net poll).
 */
export async function listenForWakeups(
  coreRoot: string,
  onWake: () => void,
): Promise<Server | undefined> {
  const path = wakeSocketPath(coreRoot);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return undefined;
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end();
    onWake();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  server.unref();
  return server;
}

/** Wakes the runner of a CoreRoot if one listens; never throws (no runner = nothing to wake). */
export function wakeRunner(coreRoot: string): Promise<boolean> {
  const path = wakeSocketPath(coreRoot);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
