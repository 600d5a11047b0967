import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { balancePolicy, decide, type BalanceState } from './balance-rules.js';

const H = 3_600_000;
const policy = balancePolicy({ lowBalanceThresholds: '100,500', billingGraceHours: 24, billingDestroyAfterHours: 0 });
const ok: BalanceState = { credits: 1000, has_vms: true, billing_warned_below: null, grace_started_at: null, suspended_at: null };
/** Applies a decision's patch, as the watch writes it. */
const step = (s: BalanceState, credits: number, now: number, p = policy) => {
  const d = decide({ ...s, credits }, now, p);
  return { d, s: { ...s, credits, ...d.patch } };
};

describe('balance rules', () => {
  test('thresholds parse in descending order; empty means none', () => {
    assert.deepEqual(policy.thresholds, [500, 100]);
    assert.deepEqual(balancePolicy({ lowBalanceThresholds: '', billingGraceHours: 1, billingDestroyAfterHours: 0 }).thresholds, []);
  });

  test('each threshold fires once per crossing and re-arms after a top-up above it', () => {
    let r = step(ok, 450, 0);
    assert.equal(r.d.lowBelow, 500);
    r = step(r.s, 400, 0);
    assert.equal(r.d.lowBelow, undefined, 'not again while below 500');
    r = step(r.s, 90, 0);
    assert.equal(r.d.lowBelow, 100);
    r = step(r.s, 300, 0);
    assert.equal(r.d.lowBelow, undefined, 'a top-up to 300 announces nothing');
    assert.equal(r.s.billing_warned_below, 500, 'but re-arms 100');
    r = step(r.s, 50, 0);
    assert.equal(r.d.lowBelow, 100, 'crossing 100 again warns again');
    r = step(r.s, 900, 0);
    assert.equal(r.s.billing_warned_below, null);
    r = step(r.s, 10, 0);
    assert.equal(r.d.lowBelow, 100, 'a drop past both thresholds announces the lowest, once');
  });

  test('zero starts grace; its end suspends; a top-up restores; each happens once', () => {
    let r = step(ok, 0, 0);
    assert.equal(r.d.graceEndsAt, new Date(24 * H).toISOString());
    assert.equal(r.d.lowBelow, undefined, 'the grace notice replaces the warning at zero');
    r = step(r.s, -20, 23 * H);
    assert.deepEqual([r.d.graceEndsAt, r.d.suspend, Object.keys(r.d.patch)], [undefined, undefined, []], 'still in grace');
    r = step(r.s, -30, 24 * H);
    assert.equal(r.d.suspend, true);
    assert.equal(r.d.keepStopped, true);
    r = step(r.s, -40, 30 * H);
    assert.deepEqual([r.d.suspend, r.d.keepStopped, r.d.destroy], [undefined, true, false], 'destroy is off by default');
    r = step(r.s, 60, 31 * H);
    assert.equal(r.d.restoredFrom, 'suspended');
    assert.deepEqual([r.s.grace_started_at, r.s.suspended_at], [null, null]);
    assert.equal(r.d.keepStopped, false);
  });

  test('destroy after the longer wait, when enabled; grace 0 suspends at once', () => {
    const p = balancePolicy({ lowBalanceThresholds: '500', billingGraceHours: 0, billingDestroyAfterHours: 48 });
    let r = step(ok, -1, 0, p);
    assert.deepEqual([!!r.d.graceEndsAt, r.d.suspend, r.d.destroy], [true, true, false]);
    r = step(r.s, -5, 47 * H, p);
    assert.equal(r.d.destroy, false);
    r = step(r.s, -5, 48 * H, p);
    assert.equal(r.d.destroy, true);
  });

  test('a user without VMs is neither warned nor put in grace (a sign-up balance of 0 is no emergency)', () => {
    const none = { ...ok, has_vms: false };
    for (const credits of [50, 0, -3]) {
      const d = decide({ ...none, credits }, 0, policy);
      assert.deepEqual([d.lowBelow, d.graceEndsAt, d.patch], [undefined, undefined, {}], String(credits));
    }
    const withVm = decide({ ...none, credits: 50, has_vms: true }, 0, policy);
    assert.equal(withVm.lowBelow, 100, 'their first VM brings the warning');
  });

  test('a top-up during grace ends it without a suspension', () => {
    let r = step(ok, -1, 0);
    r = step(r.s, 5, H);
    assert.equal(r.d.restoredFrom, 'grace');
    assert.equal(r.s.grace_started_at, null);
  });
});
