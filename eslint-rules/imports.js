// Local lint rules for src/: layers run one way, and no file reaches itself through imports.
import path from 'node:path';
import { loopsOf, pathWithin, resolveSpecifier } from './graph.js';

/** Calls `check(node, specifier)` for every static import, re-export and literal import(). */
function eachImport(check) {
  const onSource = (node) => {
    if (node.source && typeof node.source.value === 'string') check(node, node.source.value);
  };
  return {
    ImportDeclaration: onSource,
    ExportNamedDeclaration: onSource,
    ExportAllDeclaration: onSource,
    ImportExpression: onSource,
  };
}

/** The top-level part of src/ a file belongs to: a folder name, or a root file's base name. */
function partOf(srcDir, file) {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const [first, ...rest] = rel.split(path.sep);
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'A part of src/ imports only parts on a lower layer.' },
    schema: [{ type: 'object', properties: { layers: { type: 'array' } }, required: ['layers'] }],
  },
  create(context) {
    const table = context.options[0].layers;
    const rowOf = new Map(table.flatMap((row, i) => row.map((part) => [part, i])));
    const srcDir = path.join(context.cwd, 'src');
    const own = partOf(srcDir, context.filename);
    if (own === undefined) return {};
    const ownRow = rowOf.get(own);
    if (ownRow === undefined) {
      return {
        Program(node) {
          context.report({
            node,
            message: `src/${own} is not in the layer table of eslint.config.js: give it a row.`,
          });
        },
      };
    }
    return eachImport((node, specifier) => {
      const target = resolveSpecifier(context.filename, specifier);
      if (target === undefined) return;
      const part = partOf(srcDir, target);
      if (part === undefined || part === own) return;
      const row = rowOf.get(part);
      if (row !== undefined && row < ownRow) return;
      context.report({
        node,
        message:
          row === undefined
            ? `src/${part} is not in the layer table of eslint.config.js: give it a row.`
            : `${own} may not import ${part}: ${row === ownRow ? 'they sit on the same layer' : `${part} sits above ${own}`}; move the shared piece down a layer (docs/ARCHITECTURE.md, Layers).`,
      });
    });
  },
};

const noImportLoop = {
  meta: {
    type: 'problem',
    docs: { description: 'No file of src/ reaches itself through its imports.' },
    schema: [],
  },
  create(context) {
    const srcDir = path.join(context.cwd, 'src');
    const file = context.filename;
    const component = loopsOf(srcDir).get(file);
    if (component === undefined || component.size < 2) return {};
    return eachImport((node, specifier) => {
      const target = resolveSpecifier(file, specifier);
      if (target === undefined || !component.has(target)) return;
      const loop = [file, ...pathWithin(srcDir, component, target, file)];
      const names = loop.map((f) => path.relative(srcDir, f)).join(' → ');
      context.report({ node, message: `import loop: ${names}` });
    });
  },
};

/** The project's own lint rules, as an ESLint plugin. */
export default { rules: { layers, 'no-import-loop': noImportLoop } };
