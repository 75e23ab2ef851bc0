// Option values as plain constants: the CLI declares its options with them without loading
// zod or the config schema.

/**
 * Hand-back modes: `none` (awaits review), `branch` (into the source repository), `pr` (a pull
 * request on its forge) and `merge` (a pull request merged once its checks pass).
 */
export const DELIVER_MODES = ['none', 'branch', 'pr', 'merge'] as const;
/** How `deliver.mode: merge` merges a pull request on its forge. */
export const MERGE_METHODS = ['merge', 'squash', 'rebase'] as const;
/** The agents agentic knows without configuration; agents.yaml may tune them without a `command`. */
export const BUILT_IN_AGENTS = ['claude', 'codex', 'gemini', 'opencode', 'shell'] as const;
/** The name of a built-in agent. */
export type BuiltInAgent = (typeof BUILT_IN_AGENTS)[number];
/** The forge kinds agentic can open pull requests on (Forgejo speaks Gitea's API). */
export const FORGE_KINDS = ['github', 'gitea', 'forgejo', 'gitlab'] as const;
