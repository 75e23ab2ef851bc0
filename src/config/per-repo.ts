import type { AgentsFile, DeliverMode, QaCheckConfig } from './schema.js';

/** QA settings that apply to one repository: off, or the configured checks (undefined = detect). */
export type QaSettings =
  | { enabled: false }
  | { enabled: true; checks: readonly QaCheckConfig[] | undefined; fixRounds: number };

/**
 * The QA settings of workspaces under `orgRepo` (`org/repo`): the per-repo entry wins over the
 * global one field by field; `off` at either level turns QA off (a per-repo map turns it back on).
 */
export function qaSettingsFor(file: AgentsFile, orgRepo: string): QaSettings {
  const global = file.qa === 'off' || file.qa === false ? undefined : file.qa;
  const own = global?.repos[orgRepo];
  if (own === 'off' || own === false || (global === undefined && own === undefined))
    return { enabled: false };
  return {
    enabled: true,
    checks: own?.checks ?? global?.checks,
    fixRounds: own?.fix_rounds ?? global?.fix_rounds ?? 0,
  };
}

/** Hand-back settings that apply to one repository (`org/repo`); per-repo entries win. */
export interface DeliverSettings {
  mode: DeliverMode;
  mergeCommit: boolean;
  identity: { name: string; email: string } | undefined;
}

/** The hand-back settings of workspaces under `orgRepo`; defaults: mode `none`, no merge commits. */
export function deliverSettingsFor(file: AgentsFile, orgRepo: string): DeliverSettings {
  const own = file.deliver.repos[orgRepo];
  return {
    mode: own?.mode ?? file.deliver.mode ?? 'none',
    mergeCommit: own?.merge_commit ?? file.deliver.merge_commit ?? false,
    identity: file.deliver.identity,
  };
}
