import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capMayApply, chargedInMonth, planVm } from './metering-plan.js';

const H = 3_600_000;
const at = (s: string) => Date.parse(s);

describe('metering plan', () => {
  test('a run across a month boundary is one row per month, each starting at its first hour', () => {
    // Paid until 22:30 on Nov 30; 4 hours began: 22:30 and 23:30 are November's, 00:30 and 01:30 December's.
    const plan = planVm(at('2026-11-30T22:30:00.000Z'), 4, new Map(), 672)!;
    assert.deepEqual(plan.rows, [
      { period: '2026-11-30T22:30:00.000Z', hours: 2, month: '2026-11' },
      { period: '2026-12-01T00:30:00.000Z', hours: 2, month: '2026-12' },
    ]);
    assert.equal(plan.next, '2026-12-01T02:30:00.000Z');
    assert.equal(plan.cappedHours, 0);
  });

  test('the cap: hours past it advance the mark but are not charged; reaching it is reported once', () => {
    const charged = new Map([['2026-11', 670]]);
    const plan = planVm(at('2026-11-29T10:00:00.000Z'), 5, charged, 672)!;
    assert.deepEqual(plan.rows, [{ period: '2026-11-29T10:00:00.000Z', hours: 2, month: '2026-11' }]);
    assert.equal(plan.next, '2026-11-29T15:00:00.000Z', 'all 5 hours are paid up');
    assert.equal(plan.cappedHours, 3);
    assert.deepEqual(plan.capReached, ['2026-11']);
    const again = planVm(at('2026-11-29T15:00:00.000Z'), 1, charged, 672)!;
    assert.deepEqual([again.rows, again.capReached, again.cappedHours], [[], [], 1], 'capped: nothing charged, nothing announced again');
  });

  test('a capped month does not cap the next one', () => {
    const plan = planVm(at('2026-11-30T23:00:00.000Z'), 3, new Map([['2026-11', 672]]), 672)!;
    assert.deepEqual(plan.rows, [{ period: '2026-12-01T00:00:00.000Z', hours: 2, month: '2026-12' }]);
    assert.equal(plan.cappedHours, 1);
  });

  test('hours charged in the month follow from the timeline, capped, with the first hour in its month', () => {
    // Timeline from Nov 28 10:00; paid until Dec 1 02:00: December has 2 hours (00:00, 01:00).
    assert.equal(chargedInMonth(at('2026-12-01T02:00:00.000Z'), at('2026-11-28T10:00:00.000Z'), at('2026-11-28T09:00:00.000Z'), 672), 2);
    // Same month: 3 usage hours + the first hour.
    assert.equal(chargedInMonth(at('2026-11-28T13:00:00.000Z'), at('2026-11-28T10:00:00.000Z'), at('2026-11-28T09:00:00.000Z'), 672), 4);
    assert.equal(chargedInMonth(at('2026-11-30T13:00:00.000Z'), at('2026-11-01T00:30:00.000Z'), null, 672), 672, 'capped');
    assert.equal(chargedInMonth(at('2026-11-28T10:00:00.000Z'), null, at('2026-11-28T09:00:00.000Z'), 672), 1, 'only the first hour so far');
  });

  test('the cap lookup is skipped only when the month cannot have reached it', () => {
    assert.equal(capMayApply(at('2026-11-05T00:00:00.000Z'), at('2026-10-01T00:00:00.000Z'), at('2026-11-05T01:00:00.000Z'), 672), false);
    assert.equal(capMayApply(at('2026-11-28T23:00:00.000Z'), at('2026-10-01T00:00:00.000Z'), at('2026-11-29T00:00:00.000Z'), 672), true);
    assert.equal(capMayApply(at('2026-11-02T00:00:00.000Z'), at('2026-11-01T00:00:00.000Z'), at('2026-11-02T01:00:00.000Z'), 10), true);
  });
});
