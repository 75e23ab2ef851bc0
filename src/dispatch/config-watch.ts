import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { AppContext } from '../context.js';
import { agentsFilePath } from '../config/index.js';
import { reloadAgentsFile } from '../config/load-sync.js';
import { toAgenticError } from '../lib/errors.js';
import { readTextIfExists } from '../lib/fs.js';

/** Options of a {@link ConfigWatch}; the defaults suit a daemon. */
export interface ConfigWatchOptions {
  /** Quiet time after the last change before the file is read, in ms (default 200). */
  debounceMs?: number;
  /** How often the file is compared anyway, for file systems whose watch misses events, in ms (default 2000). */
  pollMs?: number;
}

/**
 * Keeps a running process's configuration in step with agents.yaml: the file is read again
 * when it changes (fs.watch on its directory, so an editor's write-and-rename is seen, plus a
 * periodic look for file systems where watching misses changes or is unavailable), debounced,
 * and on {@link reload} (SIGHUP). A file that does not parse or validate is logged as an error
 * and the configuration in effect stays; so does a file that is gone.
 */
export class ConfigWatch {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** The text last acted on (applied or refused), so an unchanged file is not logged again. */
  private lastText: string | undefined;
  private readonly path: string;

  constructor(
    private readonly ctx: AppContext,
    /** Called after a new configuration is in effect (the runner claims with it). */
    private readonly onReload: () => void,
    private readonly options: ConfigWatchOptions = {},
  ) {
    this.path = agentsFilePath(ctx.config);
  }

  /** Starts watching; a change made since the process read the file is applied now. */
  start(): void {
    this.lastText = readTextIfExists(this.path);
    if (this.lastText !== undefined) this.check(true, true);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === basename(this.path)) this.schedule();
      });
      this.watcher.on('error', () => this.stopWatcher());
    } catch (err) {
      this.ctx.logger.warn(
        { path: this.path, err: toAgenticError(err).message },
        'cannot watch agents.yaml; looking for changes every few seconds instead',
      );
    }
    this.poll = setInterval(() => this.check(false), this.options.pollMs ?? 2000);
    this.poll.unref();
  }

  /** Reads the file now (SIGHUP): applied if it differs from the configuration in effect. */
  reload(): void {
    this.check(true);
  }

  /** Stops watching. */
  close(): void {
    this.stopWatcher();
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
  }

  private stopWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(false), this.options.debounceMs ?? 200);
    this.debounce.unref();
  }

  /** Applies the file if its text changed since the last look (or always, when `asked`). */
  private check(asked: boolean, quiet = false): void {
    const text = readTextIfExists(this.path);
    if (!asked && text === this.lastText) return;
    this.lastText = text;
    const { logger } = this.ctx;
    if (text === undefined) {
      logger.warn(
        { path: this.path },
        'agents.yaml is gone; the configuration in effect stays until it is back',
      );
      return;
    }
    try {
      const { config, restartNeeded } = reloadAgentsFile(this.ctx.config, text, this.path);
      for (const note of restartNeeded) logger.warn({ path: this.path }, note);
      if (JSON.stringify(config.file) === JSON.stringify(this.ctx.config.file)) {
        if (asked && !quiet)
          logger.info({ path: this.path }, 'agents.yaml reloaded; nothing changed');
        return;
      }
      this.ctx.setConfig(config);
      logger.info({ path: this.path }, 'agents.yaml reloaded; new claims use it');
      this.onReload();
    } catch (err) {
      logger.error(
        { path: this.path, err: toAgenticError(err).message },
        'agents.yaml not reloaded: it is invalid; the previous configuration stays in effect',
      );
    }
  }
}
