// The /metrics reader the end-to-end tests assert with must fail for a
// series that does not exist, so that a renamed metric cannot pass as 0.
import { describe, expect, it } from 'vitest';
import { sampleSum } from './metrics.js';

const TEXT = `# HELP godepot_served_total Artifacts served.
# TYPE godepot_served_total counter
godepot_served_total{kind="zip",verification="verified"} 3
godepot_served_total{kind="mod",verification="verified"} 2
# HELP godepot_checksum_mismatch_total Refused.
# TYPE godepot_checksum_mismatch_total counter
# HELP godepot_http_request_duration_seconds Time.
# TYPE godepot_http_request_duration_seconds histogram
godepot_http_request_duration_seconds_count{route="zip"} 24
`;

describe('sampleSum', () => {
  it('sums matching samples, and gives 0 for a declared family with no matching sample', () => {
    expect(sampleSum(TEXT, 'godepot_served_total')).toBe(5);
    expect(sampleSum(TEXT, 'godepot_served_total', { kind: 'zip' })).toBe(3);
    expect(sampleSum(TEXT, 'godepot_served_total', { verification: 'unverified' })).toBe(0);
    expect(sampleSum(TEXT, 'godepot_checksum_mismatch_total', { kind: 'zip' })).toBe(0);
    expect(sampleSum(TEXT, 'godepot_http_request_duration_seconds_count', { route: 'zip' })).toBe(24);
  });

  it('throws for a metric that does not exist', () => {
    expect(() => sampleSum(TEXT, 'godepot_servd_total')).toThrow('/metrics has no metric godepot_servd_total');
  });

  it('throws for a label the metric does not have', () => {
    expect(() => sampleSum(TEXT, 'godepot_served_total', { verifcation: 'verified' })).toThrow(
      'metric godepot_served_total has no label verifcation',
    );
  });
});
