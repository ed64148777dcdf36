// Values the schema must refuse rather than misread.
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { parseDuration } from '../../src/config/values.js';

describe('settings limits', () => {
  it('refuses a duration longer than a timer can wait, naming the setting (Node would fire it after 1 ms)', () => {
    expect(() => loadSettings(['--storage-timeout', '600h'], {})).toThrow(/--storage-timeout.*at most 596h/);
    expect(() => parseDuration(2 ** 31)).toThrow(/at most/);
    expect(parseDuration('596h')).toBe(596 * 3_600_000);
  });
});
