import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { isErrno } from '../lib/fs.js';

/**
 * Lists the workspace names (`org/repo/leaf`) under the workspace root, sorted. A workspace
 * is a directory three levels down; hidden entries are skipped. A missing root yields [].
 */
export function discoverWorkspaces(root: string): string[] {
  const names: string[] = [];
  for (const org of subdirs(root)) {
    for (const repo of subdirs(join(root, org))) {
      for (const leaf of subdirs(join(root, org, repo))) names.push(`${org}/${repo}/${leaf}`);
    }
  }
  return names.sort();
}

function subdirs(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    throw err;
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}
