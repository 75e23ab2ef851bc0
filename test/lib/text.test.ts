import { describe, expect, it } from 'vitest';
import { byteOrder } from '../../src/lib/text.js';

describe('byteOrder', () => {
  it('orders strings as their UTF-8 bytes compare', () => {
    const values = [
      '',
      'a',
      'ab',
      'b',
      '~',
      '\u00e9',
      '\ud7ff',
      '\ue000',
      '\uffff',
      '\u{10000}',
      '\u{1F600}',
      'a\u{1F600}',
      'a\ue000',
    ];
    const bytes = [...values].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...values].sort(byteOrder)).toEqual(bytes);
    // JavaScript's own order differs exactly there.
    expect([...values].sort()).not.toEqual(bytes);
    expect(byteOrder('same', 'same')).toBe(0);
  });
});
