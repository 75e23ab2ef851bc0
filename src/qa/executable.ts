import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * The file `program` would run as: a path (anything with a `/`) resolved against `cwd`, else
 * the first executable match on `pathVar`. Undefined when there is none, which QA records as a
 * tool that is not installed rather than a failure.
 */
export function findExecutable(
  program: string,
  cwd: string,
  pathVar: string | undefined,
): string | undefined {
  if (program.includes('/')) {
    const file = isAbsolute(program) ? program : resolve(cwd, program);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of (pathVar ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory, as in the shell.
    const file = join(dir === '' ? cwd : resolve(cwd, dir), program);
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
