// Secrets in settings never reach a message, even when the value is malformed.
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';

describe('secrets in setting errors', () => {
  it('does not show the password of a malformed --redis URL', () => {
    let message = '';
    try {
      loadSettings([], { GODEPOT_REDIS: 'redis//:hunter2@cache:6379' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/--redis/);
    expect(message).not.toContain('hunter2');
  });
});
