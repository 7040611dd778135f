import { describe, expect, it } from 'vitest';
import { isoMicros } from '../../src/supervisor.js';

// The formatter keeps the part up to the second between calls: every value must
// still come out as Date would format it, in any order of calls.
function reference(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().slice(0, 23) + String(us % 1000).padStart(3, '0') + 'Z';
}

describe('isoMicros', () => {
  it('formats as Date does, across seconds, days, years and back again', () => {
    const starts = [0, 951_782_399_999_000, 1_735_689_599_999_990, 1_798_761_599_500_000, 4_102_444_799_999_999];
    for (const start of starts) {
      for (let i = 0; i < 2_000; i++) {
        const us = start + i * 7;
        expect(isoMicros(us)).toBe(reference(us));
      }
    }
    // Out of order: a record of an earlier second after a later one.
    for (const us of [1_735_689_600_000_001, 1_735_689_599_999_999, 1_735_689_600_000_000, 5, 1_735_689_599_000_000]) {
      expect(isoMicros(us)).toBe(reference(us));
    }
  });

  it('gives six sub-second digits', () => {
    expect(isoMicros(1_735_689_600_000_042)).toBe('2025-01-01T00:00:00.000042Z');
    expect(isoMicros(1_735_689_600_123_456)).toBe('2025-01-01T00:00:00.123456Z');
  });
});
