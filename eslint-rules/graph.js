// The src/ import graph as the local lint rules see it: one read per lint run.
import fs from 'node:fs';
import path from 'node:path';

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Resolves a relative specifier to the absolute .ts path it names, or undefined. */
export function resolveSpecifier(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = path.resolve(path.dirname(fromFile), specifier);
  return target.endsWith('.js') ? `${target.slice(0, -3)}.ts` : target;
}

const graphs = new Map();

/** The import graph of every .ts file under `srcDir`: file → set of files it imports. */
export function importGraph(srcDir) {
  const cached = graphs.get(srcDir);
  if (cached) return cached;
  const graph = new Map();
  for (const rel of fs.readdirSync(srcDir, { recursive: true })) {
    if (!String(rel).endsWith('.ts')) continue;
    const file = path.join(srcDir, String(rel));
    const text = fs.readFileSync(file, 'utf8');
    const edges = new Set();
    for (const m of text.matchAll(SPECIFIER)) {
      const target = resolveSpecifier(file, m[1] ?? m[2]);
      if (target) edges.add(target);
    }
    graph.set(file, edges);
  }
  graphs.set(srcDir, graph);
  return graph;
}

const components = new Map();

/** Strongly connected components of the graph (Tarjan): file → its component (a Set). */
export function loopsOf(srcDir) {
  const cached = components.get(srcDir);
  if (cached) return cached;
  const graph = importGraph(srcDir);
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const result = new Map();
  let next = 0;
  // Iterative Tarjan, so a long chain of imports cannot overflow the stack.
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work = [[root, [...(graph.get(root) ?? [])].filter((t) => graph.has(t)), 0]];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [node, edges] = frame;
      if (frame[2] < edges.length) {
        const target = edges[frame[2]++];
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push([target, [...(graph.get(target) ?? [])].filter((t) => graph.has(t)), 0]);
        } else if (onStack.has(target)) {
          low.set(node, Math.min(low.get(node), index.get(target)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const component = new Set();
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.add(member);
        } while (member !== node);
        for (const m of component) result.set(m, component);
      }
    }
  }
  components.set(srcDir, result);
  return result;
}

/** A shortest path of imports from `from` to `to` inside one component, as a list of files. */
export function pathWithin(srcDir, component, from, to) {
  const graph = importGraph(srcDir);
  const previous = new Map([[from, undefined]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift();
    if (node === to) break;
    for (const next of graph.get(node) ?? []) {
      if (!component.has(next) || previous.has(next)) continue;
      previous.set(next, node);
      queue.push(next);
    }
  }
  const chain = [];
  for (let node = to; node !== undefined; node = previous.get(node)) chain.unshift(node);
  return chain;
}
