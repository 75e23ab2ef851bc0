import { describe, expect, it } from 'vitest';
import { dispatchRecordSchema, versionOf } from '../../src/hub/index.js';

const version = (record: Record<string, unknown>) => versionOf(dispatchRecordSchema.parse(record));

describe('dispatch record version order', () => {
  it('takes updated_at and runs from the record', () => {
    expect(
      version({ id: 'a', fingerprint: 'x', updated_at: '2026-03-01T10:00:00.000Z', runs: 3 }),
    ).toEqual({ ms: Date.parse('2026-03-01T10:00:00.000Z'), runs: 3 });
  });

  it('falls back to the fingerprint when the record lacks or garbles them', () => {
    const fp = '2026-03-01T10:00:00.000Z#4';
    const expected = { ms: Date.parse('2026-03-01T10:00:00.000Z'), runs: 4 };
    expect(version({ id: 'a', fingerprint: fp })).toEqual(expected);
    expect(version({ id: 'a', fingerprint: fp, updated_at: 'soon' })).toEqual(expected);
  });

  it('orders an unparseable version first', () => {
    expect(version({ id: 'a', fingerprint: 'opaque' })).toEqual({ ms: 0, runs: 0 });
  });
});
