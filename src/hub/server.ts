import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { AgenticError } from '../lib/errors.js';
import { createHubApp, type HubAppOptions } from './app.js';

/** Default time in-flight requests get to finish on shutdown before connections are cut, in ms. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** Options of {@link startHubServer}: the app's, plus where to listen. */
export interface HubServerOptions extends HubAppOptions {
  /** TCP port; 0 picks a free one (see {@link RunningHub.port}). */
  port: number;
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Grace for in-flight requests on close. Default {@link DEFAULT_SHUTDOWN_TIMEOUT_MS}. */
  shutdownTimeoutMs?: number;
}

/** A listening hub; the caller still owns (and closes) the storage. */
export interface RunningHub {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  readonly host: string;
  /** The real port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish, then cuts what is left after the timeout; idempotent. */
  close(): Promise<void>;
}

/** Starts the hub's HTTP server; throws IO_FAILED when the address cannot be bound (e.g. port in use). */
export async function startHubServer(options: HubServerOptions): Promise<RunningHub> {
  const host = options.host ?? '127.0.0.1';
  const app = createHubApp(options);
  const { server, address } = await new Promise<{ server: Server; address: AddressInfo }>(
    (resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: options.port, hostname: host }) as Server;
      const onError = (err: Error): void =>
        reject(
          new AgenticError(
            'IO_FAILED',
            `cannot listen on ${host}:${options.port}: ${err.message}`,
            {
              cause: err,
              field: 'port',
            },
          ),
        );
      s.once('error', onError);
      s.once('listening', () => {
        s.off('error', onError);
        resolve({ server: s, address: s.address() as AddressInfo });
      });
    },
  );
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    host: address.address,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timeout = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
        const timer = setTimeout(() => server.closeAllConnections(), timeout);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
