import { z } from 'zod';
import {
  applySetting,
  describeDifference,
  flattenSettings,
  settingsDiff,
  settingsDocument,
  settingsOf,
  withSettings,
  type FleetSettings,
  type SettingDifference,
  type SettingValue,
} from '../config/fleet-settings.js';
import type { AgentsFile } from '../config/index.js';
import type { AppContext } from '../context.js';
import { isoUtc } from '../lib/clock.js';
import { AgenticError, toAgenticError } from '../lib/errors.js';
import { GROUPS, type StateStore, type StoreOps, isFleet } from '../store/index.js';

/** The key of the fleet's settings in the `settings` group. */
const KEY = 'fleet';

/** The stored settings: the values, plus a version every change raises. */
const storedSchema = z.object({
  version: z.number().int().positive(),
  updated_at: z.string(),
  updated_by: z.string(),
  settings: z.unknown(),
});

/** The fleet's settings as stored, validated. */
export interface FleetSettingsDoc {
  version: number;
  updated_at: string;
  /** The node that seeded or last changed them. */
  updated_by: string;
  settings: FleetSettings;
}

/**
 * Validates settings with agents.yaml's own rules (the same messages, did-you-mean included).
 * The schema is loaded on first use: a claim only parses when the version changed.
 */
async function validated(doc: Record<string, unknown>, label: string): Promise<FleetSettings> {
  const { validateAgentsObject } = await import('../config/agents-file.js');
  return settingsOf(validateAgentsObject(doc, label));
}

/** Reads and validates the stored settings; undefined when none are stored yet. Throws CONFIG_INVALID for a value that does not validate. */
export async function readFleetSettings(ops: StoreOps): Promise<FleetSettingsDoc | undefined> {
  return parseStored(await ops.get(GROUPS.settings, KEY));
}

async function parseStored(raw: unknown): Promise<FleetSettingsDoc | undefined> {
  if (raw === undefined) return undefined;
  const parsed = storedSchema.safeParse(raw);
  if (!parsed.success || typeof parsed.data.settings !== 'object' || parsed.data.settings === null)
    throw new AgenticError(
      'CONFIG_INVALID',
      "the stored fleet settings are not readable; set them again with 'agentic fleet config set'",
    );
  const settings = await validated(
    settingsDocument(parsed.data.settings as FleetSettings),
    'stored fleet settings',
  );
  return { ...parsed.data, settings };
}

/** What a node last made of the stored settings, so a claim parses them only when they change. */
interface Cached {
  /** The stored row as text: any change to it, a hand edit included, is seen. */
  text: string;
  /** The agents.yaml the overlay was built on (it changes when the file is reloaded). */
  base: AgentsFile;
  file: AgentsFile;
}
const cache = new WeakMap<AppContext, Cached>();

/**
 * The configuration claims and run ends count with, read inside their transaction `tx`: in
 * fleet mode this node's agents.yaml with the fleet's limits, rates and back-off in place of
 * its own (one small row read; validated again only when it changed), else agents.yaml as it
 * is. Unseeded or unreadable fleet settings leave agents.yaml in effect (logged once).
 */
export async function effectiveFile(
  ctx: AppContext,
  store: StateStore,
  tx: StoreOps,
): Promise<AgentsFile> {
  if (!isFleet(store)) return ctx.config.file;
  // Read without a row lock (the group holds this one row): claims and run ends on every node
  // read it, and a change made meanwhile applies from the next one.
  return effectiveFileOf(ctx, (await tx.entries(GROUPS.settings)).find(([k]) => k === KEY)?.[1]);
}

/** Where the fleet's settings are stored, for a caller that reads them with other rows. */
export const FLEET_SETTINGS_ROW = [GROUPS.settings, KEY] as const;

/** {@link effectiveFile} in a fleet, given the stored settings row's value (undefined: none). */
export async function effectiveFileOf(ctx: AppContext, raw: unknown): Promise<AgentsFile> {
  const base = ctx.config.file;
  if (raw === undefined) return base;
  const text = JSON.stringify(raw);
  const hit = cache.get(ctx);
  if (hit !== undefined && hit.text === text && hit.base === base) return hit.file;
  let file = base;
  try {
    const doc = await parseStored(raw);
    if (doc !== undefined) file = withSettings(base, doc.settings);
  } catch (err) {
    ctx.logger.error(
      { err: toAgenticError(err).message },
      "fleet settings unreadable; this node counts with its agents.yaml until they are set again ('agentic fleet config set')",
    );
  }
  cache.set(ctx, { text, base, file });
  return file;
}

/** What a node found when it joined: it seeded the settings, or the fleet's differ from its agents.yaml here. */
export interface SettingsCheck {
  seeded: boolean;
  doc: FleetSettingsDoc;
  differences: SettingDifference[];
}

/**
 * At a runner's start in fleet mode: the first node seeds the fleet settings from its
 * agents.yaml; a later one whose agents.yaml disagrees is warned, naming each differing key and
 * the fleet's value, and counts with the fleet's. Returns undefined outside fleet mode.
 */
export async function joinFleetSettings(ctx: AppContext): Promise<SettingsCheck | undefined> {
  const store = await ctx.store();
  if (!isFleet(store)) return undefined;
  const local = settingsOf(ctx.config.file);
  const { doc, seeded } = await store.transaction(async (tx) => {
    const held = await readFleetSettings(tx);
    if (held !== undefined) return { doc: held, seeded: false };
    const fresh: FleetSettingsDoc = {
      version: 1,
      updated_at: isoUtc(ctx.clock.now()),
      updated_by: ctx.config.nodeId,
      settings: local,
    };
    await tx.set(GROUPS.settings, KEY, fresh);
    return { doc: fresh, seeded: true };
  });
  const differences = seeded ? [] : settingsDiff(doc.settings, local);
  if (seeded)
    ctx.logger.info(
      { version: doc.version },
      'fleet settings seeded from this agents.yaml (concurrency, rates, failure back-off)',
    );
  else if (differences.length > 0)
    ctx.logger.warn(
      { differences },
      `agents.yaml differs from the fleet settings on ${differences.map(describeDifference).join(', ')}; the fleet's are used (change them with 'agentic fleet config set <key> <value>')`,
    );
  return { seeded, doc, differences };
}

/** `agentic fleet config`: the settings in effect, where they come from, and how this node's agents.yaml differs. */
export interface FleetConfigView {
  engine: string;
  /** `fleet`: stored for the fleet; `agents.yaml`: this node's file rules (embedded store, or a fleet not yet seeded). */
  source: 'fleet' | 'agents.yaml';
  version: number | null;
  updated_at: string | null;
  updated_by: string | null;
  settings: FleetSettings;
  /** The same settings by agents.yaml path. */
  keys: Record<string, SettingValue>;
  /** Keys where this node's agents.yaml disagrees with the fleet (always empty outside fleet mode). */
  differences: SettingDifference[];
}

/** Reads the settings in effect for `agentic fleet config`. */
export async function fleetConfigView(ctx: AppContext): Promise<FleetConfigView> {
  const store = await ctx.store();
  const local = settingsOf(ctx.config.file);
  const doc = isFleet(store) ? await readFleetSettings(store) : undefined;
  const settings = doc?.settings ?? local;
  return {
    engine: store.engine,
    source: doc === undefined ? 'agents.yaml' : 'fleet',
    version: doc?.version ?? null,
    updated_at: doc?.updated_at ?? null,
    updated_by: doc?.updated_by ?? null,
    settings,
    keys: Object.fromEntries(flattenSettings(settings)),
    differences: doc === undefined ? [] : settingsDiff(doc.settings, local),
  };
}

/** What `fleet config set` changed: every leaf that now differs, and the new version. */
export interface SettingChange {
  version: number;
  changed: Array<{
    key: string;
    before: SettingValue | undefined;
    after: SettingValue | undefined;
  }>;
}

/**
 * Sets (or, with `value` undefined, removes) one fleet setting, validated with agents.yaml's
 * rules, and wakes every node: each counts with it at its next claim, no restart. Unseeded
 * settings are seeded from this node's agents.yaml first. Throws CONFIG_INVALID for a bad key
 * or value, and outside fleet mode (where agents.yaml is the only source).
 */
export async function setFleetSetting(
  ctx: AppContext,
  key: string,
  value: unknown,
): Promise<SettingChange> {
  const store = await ctx.store();
  if (!isFleet(store))
    throw new AgenticError(
      'CONFIG_INVALID',
      `fleet settings exist only in fleet mode (a PostgreSQL store); on the ${store.engine} store edit agents.yaml instead`,
    );
  const change = await store.transaction(async (tx) => {
    // Unreadable stored settings are replaced, starting from this node's agents.yaml.
    const raw = await tx.get(GROUPS.settings, KEY);
    const held = await parseStored(raw).catch(() => undefined);
    const current = held?.settings ?? settingsOf(ctx.config.file);
    const stored = storedSchema.pick({ version: true }).safeParse(raw);
    const next = await validated(applySetting(current, key, value), 'fleet config');
    const doc: FleetSettingsDoc = {
      version: (stored.success ? stored.data.version : 0) + 1,
      updated_at: isoUtc(ctx.clock.now()),
      updated_by: ctx.config.nodeId,
      settings: next,
    };
    await tx.set(GROUPS.settings, KEY, doc);
    const changed = settingsDiff(next, current).map((d) => ({
      key: d.key,
      before: d.local,
      after: d.fleet,
    }));
    return { version: doc.version, changed };
  });
  await store.notifyWake?.();
  return change;
}
