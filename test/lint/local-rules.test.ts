import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterEach, describe, expect, it } from 'vitest';
import local from '../../eslint-rules/imports.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Lints a throw-away src/ tree with the project's local rules and returns the messages. */
async function lintTree(files: Record<string, string>): Promise<string[]> {
  const root = await mkdtemp(path.join(tmpdir(), 'agentic-lint-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, 'src', name)), { recursive: true });
    await writeFile(path.join(root, 'src', name), text);
  }
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['src/**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { local },
        rules: {
          'local/layers': ['error', { layers: [['lib'], ['store'], ['context'], ['dispatch']] }],
          'local/no-import-loop': 'error',
        },
      },
    ],
  });
  const results = await eslint.lintFiles(['src/**/*.ts']);
  return results.flatMap((r) =>
    r.messages.map((m) => `${path.relative(root, r.filePath)}: ${m.message}`),
  );
}

describe('local lint rules', () => {
  it('accepts imports that point down the layers', async () => {
    const messages = await lintTree({
      'lib/a.ts': 'export const a = 1;\n',
      'store/b.ts': "import { a } from '../lib/a.js';\nexport const b = a;\n",
      'context.ts': "import { b } from './store/b.js';\nexport const c = b;\n",
      'dispatch/d.ts': "import { c } from '../context.js';\nexport const d = c;\n",
    });
    expect(messages).toEqual([]);
  });

  it('reports an import of a higher layer, static or dynamic, and a part missing from the table', async () => {
    const messages = await lintTree({
      'lib/a.ts': "import type { D } from '../dispatch/d.js';\nexport type A = D;\n",
      'store/b.ts': "export const b = () => import('../context.js');\n",
      'dispatch/d.ts': 'export type D = number;\n',
      'extra/e.ts': 'export const e = 1;\n',
    });
    expect(messages).toEqual([
      expect.stringMatching(/^src\/extra\/e\.ts: src\/extra is not in the layer table/),
      expect.stringMatching(
        /^src\/lib\/a\.ts: lib may not import dispatch: dispatch sits above lib/,
      ),
      expect.stringMatching(
        /^src\/store\/b\.ts: store may not import context: context sits above store/,
      ),
    ]);
  });

  it('names every file of an import loop', async () => {
    const messages = await lintTree({
      'store/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'store/b.ts': "import { c } from './c.js';\nexport const b = () => c;\n",
      'store/c.ts': "import { a } from './a.js';\nexport const c = () => a;\n",
      'store/d.ts': "import { a } from './a.js';\nexport const d = a;\n",
    });
    expect(messages).toEqual([
      'src/store/a.ts: import loop: store/a.ts → store/b.ts → store/c.ts → store/a.ts',
      'src/store/b.ts: import loop: store/b.ts → store/c.ts → store/a.ts → store/b.ts',
      'src/store/c.ts: import loop: store/c.ts → store/a.ts → store/b.ts → store/c.ts',
    ]);
  });
});

describe('the degraded-mode guard of eslint.config.js', () => {
  const repo = path.resolve(import.meta.dirname, '..', '..');
  const code = 'export const f = (store: { degraded: boolean }): boolean => store.degraded;\n';
  /** Messages of the project's own config for `code` as if it lived at `file`. */
  async function lintAs(file: string): Promise<string[]> {
    const eslint = new ESLint({ cwd: repo });
    const [result] = await eslint.lintText(code, { filePath: path.join(repo, file) });
    return (result?.messages ?? []).map((m) => m.message);
  }

  it('refuses a branch on store.degraded in domain code and allows it where the fact is reported', async () => {
    for (const file of ['src/dispatch/x.ts', 'src/lifecycle/x.ts', 'src/fleet/x.ts'])
      expect(await lintAs(file), file).toEqual([
        expect.stringMatching(/Do not branch on store\.degraded/),
      ]);
    for (const file of ['src/lifecycle/stats.ts', 'src/cli/actions/x.ts', 'src/sync/x.ts'])
      expect(await lintAs(file), file).toEqual([]);
  }, 30_000);
});
