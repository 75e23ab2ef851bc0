import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** How {@link findExecutable} treats relative paths. */
export interface FindExecutableOptions {
  /**
   * Directory a relative program path and relative PATH entries resolve against (an empty PATH
   * entry meaning this directory, as in the shell). Without it, relative PATH entries are
   * skipped, so a stray `.` on the dispatcher's PATH cannot pick up a file from whatever
   * directory it runs in, and a relative program path resolves against the process's cwd.
   */
  cwd?: string | undefined;
}

/**
 * The file `program` would run as: a path (anything with a `/`) as given, else the first
 * executable regular file of that name on `pathVar`. Undefined when there is none.
 */
export function findExecutable(
  program: string,
  pathVar: string | undefined,
  options: FindExecutableOptions = {},
): string | undefined {
  const { cwd } = options;
  if (program.includes('/')) {
    const file = isAbsolute(program) || cwd === undefined ? program : resolve(cwd, program);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of (pathVar ?? '').split(delimiter)) {
    const base =
      cwd !== undefined ? (dir === '' ? cwd : resolve(cwd, dir)) : isAbsolute(dir) ? dir : '';
    if (base === '') continue;
    const file = join(base, program);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
