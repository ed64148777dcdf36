// Secrets in settings never reach a message, even when the value is malformed.
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';

describe('secrets in setting errors', () => {
  it.each([
    'redis//:hunter2@cache:6379',
    'redis:hunter2@cache:6379',
    'redis//:hun@ter2@cache:6379',
    // Not a URL at all (a port out of range): it passed the check, and the start then stopped with
    // "godepot: Invalid URL", naming no setting.
    'redis://:hunter2@cache:99999',
  ])('does not show the password of a malformed --redis URL (%s)', (value) => {
    let message = '';
    try {
      loadSettings([], { GODEPOT_REDIS: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/--redis/);
    expect(message).not.toMatch(/hun|ter2/);
  });
});
