import type { ESLint } from 'eslint';

/** The project's local lint rules (`layers`, `no-import-loop`), as an ESLint plugin. */
declare const plugin: ESLint.Plugin;
export default plugin;
