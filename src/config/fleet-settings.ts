import { didYouMean } from '../lib/did-you-mean.js';
import { AgenticError } from '../lib/errors.js';
import type { AgentsFile, ConcurrencyEntry, RateConfig } from './schema.js';

/**
 * The part of agents.yaml a fleet shares (stored once in the store): pool limits with per-model
 * sub-limits, the default limit, rate windows and the fast-failure back-off. Nodes that each
 * counted against their own limits would together run more than any of them allows.
 */
export interface FleetSettings {
  default_concurrency: number;
  failure_backoff: { count: number; within_seconds: number; pause_minutes: number };
  concurrency: Record<string, ConcurrencyEntry>;
  rates: Record<string, RateConfig>;
}

/** A leaf value of the settings, as `agentic fleet config` lists it. */
export type SettingValue = number | string;

/** One key on which a node's agents.yaml and the fleet's settings disagree. */
export interface SettingDifference {
  key: string;
  /** The fleet's value; undefined when the fleet has no such key. */
  fleet: SettingValue | undefined;
  /** This node's agents.yaml value; undefined when it has no such key. */
  local: SettingValue | undefined;
}

/** Where `fleet config set` and the warnings name a setting: its path in agents.yaml. */
const KEY_FORMS = [
  'dispatch.default_concurrency',
  'dispatch.failure_backoff.<count|within_seconds|pause_minutes>',
  'concurrency.<pool>',
  'concurrency.<pool>.<total|model>',
  'rates.<pool>',
  'rates.<pool>.<field>',
];

/** The fleet settings of an agents.yaml (a copy: the file stays frozen). */
export function settingsOf(file: AgentsFile): FleetSettings {
  return structuredClone({
    default_concurrency: file.dispatch.default_concurrency,
    failure_backoff: file.dispatch.failure_backoff,
    concurrency: file.concurrency,
    rates: file.rates,
  });
}

/** `file` with the fleet's settings in place of its own. */
export function withSettings(file: AgentsFile, settings: FleetSettings): AgentsFile {
  return {
    ...file,
    dispatch: {
      ...file.dispatch,
      default_concurrency: settings.default_concurrency,
      failure_backoff: settings.failure_backoff,
    },
    concurrency: settings.concurrency,
    rates: settings.rates,
  };
}

/** The settings as an agents.yaml document, for validation with the agents.yaml schema. */
export function settingsDocument(settings: FleetSettings): Record<string, unknown> {
  return structuredClone({
    dispatch: {
      default_concurrency: settings.default_concurrency,
      failure_backoff: settings.failure_backoff,
    },
    concurrency: settings.concurrency,
    rates: settings.rates,
  });
}

/** Every leaf of the settings by its agents.yaml path, sorted by path. */
export function flattenSettings(settings: FleetSettings): Map<string, SettingValue> {
  const out = new Map<string, SettingValue>();
  out.set('dispatch.default_concurrency', settings.default_concurrency);
  for (const [field, value] of Object.entries(settings.failure_backoff))
    out.set(`dispatch.failure_backoff.${field}`, value);
  for (const [pool, entry] of Object.entries(settings.concurrency)) {
    if (typeof entry === 'number') out.set(`concurrency.${pool}`, entry);
    else for (const [sub, n] of Object.entries(entry)) out.set(`concurrency.${pool}.${sub}`, n);
  }
  for (const [pool, rate] of Object.entries(settings.rates))
    for (const [field, value] of Object.entries(rate))
      if (value !== undefined) out.set(`rates.${pool}.${field}`, value);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** The keys on which `local` (a node's agents.yaml) differs from `fleet`, sorted by key. */
export function settingsDiff(fleet: FleetSettings, local: FleetSettings): SettingDifference[] {
  const a = flattenSettings(fleet);
  const b = flattenSettings(local);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys
    .filter((key) => a.get(key) !== b.get(key))
    .map((key) => ({ key, fleet: a.get(key), local: b.get(key) }));
}

/** One difference as a warning names it: `concurrency.shell (fleet 2, agents.yaml 4)`. */
export function describeDifference(d: SettingDifference): string {
  const shown = (v: SettingValue | undefined): string => (v === undefined ? 'unset' : String(v));
  return `${d.key} (fleet ${shown(d.fleet)}, agents.yaml ${shown(d.local)})`;
}

/**
 * The agents.yaml document of `settings` with `key` set to `value` (undefined: removed, so the
 * default applies), still to be validated. Throws CONFIG_INVALID for a key that is not a fleet
 * setting. A per-model limit on a pool without a map gets one, its total the pool's limit so far.
 */
export function applySetting(
  settings: FleetSettings,
  key: string,
  value: unknown,
): Record<string, unknown> {
  const doc = settingsDocument(settings);
  const dispatch = doc['dispatch'] as Record<string, unknown>;
  const parts = key.split('.');
  const path = parts[0] === 'dispatch' ? parts.slice(1) : parts;
  const [head, name, field, ...rest] = path;
  const put = (target: Record<string, unknown>, k: string): void => {
    if (value === undefined) delete target[k];
    else target[k] = value;
  };
  const nonEmpty = (s: string | undefined): s is string => s !== undefined && s !== '';
  if (rest.length === 0 && head === 'default_concurrency' && name === undefined) {
    put(dispatch, 'default_concurrency');
    return doc;
  }
  if (rest.length === 0 && head === 'failure_backoff' && field === undefined) {
    if (name === undefined) put(dispatch, 'failure_backoff');
    else if (nonEmpty(name)) put(dispatch['failure_backoff'] as Record<string, unknown>, name);
    else throw unknownKey(key);
    return doc;
  }
  if (rest.length === 0 && (head === 'concurrency' || head === 'rates') && nonEmpty(name)) {
    const group = doc[head] as Record<string, unknown>;
    if (field === undefined) {
      put(group, name);
      return doc;
    }
    if (!nonEmpty(field)) throw unknownKey(key);
    let entry = group[name];
    if (head === 'concurrency' && typeof entry === 'number') entry = { total: entry };
    if (head === 'concurrency' && entry === undefined)
      entry = { total: settings.default_concurrency };
    const map =
      typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
    if (head === 'concurrency' && field === 'total' && value === undefined)
      throw new AgenticError(
        'CONFIG_INVALID',
        `fleet config: ${key} cannot be unset alone; unset concurrency.${name} instead`,
        { field: key },
      );
    put(map, field);
    group[name] = map;
    return doc;
  }
  throw unknownKey(key);
}

function unknownKey(key: string): AgenticError {
  const heads = ['dispatch', 'default_concurrency', 'failure_backoff', 'concurrency', 'rates'];
  const hint = didYouMean(key.split('.')[0] ?? '', heads);
  return new AgenticError(
    'CONFIG_INVALID',
    `fleet config: "${key}" is not a fleet setting${hint !== undefined && hint !== key.split('.')[0] ? ` (did you mean "${hint}"?)` : ''}; expected one of: ${KEY_FORMS.join(', ')}`,
    { field: key },
  );
}
