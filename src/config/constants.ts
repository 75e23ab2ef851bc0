// Option values as plain constants: the CLI declares its options with them without loading
// zod or the config schema.

/**
 * Hand-back modes: `none` (awaits review), `branch` (into the source repository), `pr` (a pull
 * request on its forge) and `merge` (a pull request merged once its checks pass).
 */
export const DELIVER_MODES = ['none', 'branch', 'pr', 'merge'] as const;
/** How `deliver.mode: merge` merges a pull request on its forge. */
export const MERGE_METHODS = ['merge', 'squash', 'rebase'] as const;
