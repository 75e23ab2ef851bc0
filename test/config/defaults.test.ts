import { describe, expect, it } from 'vitest';
import { defaultAgentsFile } from '../../src/config/defaults.js';
import { parseAgentsFile } from '../../src/config/agents-file.js';
import { agentsFileSchema } from '../../src/config/schema.js';

describe('the configuration without an agents.yaml', () => {
  it('is exactly what the schema fills in for an empty file', () => {
    // The defaults are written out so that a command without a config file never builds the
    // schema; this is what keeps the two from drifting apart.
    expect(defaultAgentsFile()).toStrictEqual(agentsFileSchema.parse({}));
    expect(defaultAgentsFile()).toStrictEqual(parseAgentsFile('', 'agents.yaml'));
  });

  it('is a fresh object each time, so freezing one leaves the next alone', () => {
    const first = defaultAgentsFile();
    Object.freeze(first.dispatch);
    expect(Object.isFrozen(defaultAgentsFile().dispatch)).toBe(false);
  });
});
