import type { AgentsFile } from './schema.js';

/**
 * The configuration when there is no agents.yaml: what the schema fills in for an empty file,
 * written out so that a command run without a config file never loads zod or builds the schema
 * (most of the CLI's start-up time). test/config/defaults.test.ts holds it equal to
 * `agentsFileSchema.parse({})`. A fresh object each call: the caller freezes it.
 */
export function defaultAgentsFile(): AgentsFile {
  return {
    dispatch: {
      default_agent: 'claude',
      default_org: 'core',
      timeout_minutes: 60,
      kill_grace_seconds: 30,
      default_concurrency: 2,
      max_requeues: 5,
      requeue_on_node_loss: true,
      failure_backoff: { count: 3, within_seconds: 60, pause_minutes: 30 },
    },
    concurrency: {},
    rates: {},
    agents: {},
    qa: { repos: {} },
    deliver: { repos: {} },
    forges: [],
    sync: { batch_size: 500 },
    store: {},
    fleet: { heartbeat_seconds: 5, lease_seconds: 30 },
  };
}
