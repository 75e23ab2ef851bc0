import type { AgentsFile, DeliverMode, MergeMethodSetting, QaCheckConfig } from './schema.js';

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
  /** What `mode: merge` (and `accept --merge-pr`) does around the pull request's checks. */
  verify: VerifySettings;
}

/** The settings of the checks wait before a pull request is merged. */
export interface VerifySettings {
  mergeMethod: MergeMethodSetting;
  requireChecks: boolean;
  checksTimeoutMinutes: number;
  fixRounds: number;
  /** First poll interval and its cap, in milliseconds (the interval doubles up to the cap). */
  pollFirstMs: number;
  pollMaxMs: number;
  /** How long an empty check list is taken for CI that has not registered yet, in milliseconds. */
  appearMs: number;
}

/** The hand-back settings of workspaces under `orgRepo`; defaults: mode `none`, no merge commits. */
export function deliverSettingsFor(file: AgentsFile, orgRepo: string): DeliverSettings {
  const own = file.deliver.repos[orgRepo];
  const poll = own?.checks_poll ?? file.deliver.checks_poll;
  return {
    mode: own?.mode ?? file.deliver.mode ?? 'none',
    mergeCommit: own?.merge_commit ?? file.deliver.merge_commit ?? false,
    identity: file.deliver.identity,
    verify: {
      mergeMethod: own?.merge_method ?? file.deliver.merge_method ?? 'merge',
      requireChecks: own?.require_checks ?? file.deliver.require_checks ?? true,
      checksTimeoutMinutes:
        own?.checks_timeout_minutes ?? file.deliver.checks_timeout_minutes ?? 60,
      fixRounds: own?.fix_rounds ?? file.deliver.fix_rounds ?? 0,
      pollFirstMs: (poll?.first_seconds ?? 5) * 1000,
      pollMaxMs: (poll?.max_seconds ?? 60) * 1000,
      appearMs: (poll?.appear_seconds ?? 30) * 1000,
    },
  };
}
