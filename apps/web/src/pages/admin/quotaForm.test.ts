import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCredit } from './creditForm';
import { checkQuota, quotaDraft } from './quotaForm';

test('quota form: empty means the server default (null), numbers are overrides', () => {
  const draft = quotaDraft({ max_vms: 3, max_ram_mb: null, max_vcpus: 0, max_disk_gb: null, max_snapshots: 2 });
  assert.deepEqual(draft, { max_vms: '3', max_ram_mb: '', max_vcpus: '0', max_disk_gb: '', max_snapshots: '2' });
  assert.deepEqual(checkQuota({ ...draft, max_disk_gb: ' 40 ', max_snapshots: '' }), { errors: {}, body: { max_vms: 3, max_ram_mb: null, max_vcpus: 0, max_disk_gb: 40, max_snapshots: null } });
});

test('quota form: negative, fractional, text and too big values are field errors, not requests', () => {
  const { errors } = checkQuota({ max_vms: '-1', max_ram_mb: '1.5', max_vcpus: 'lots', max_disk_gb: '1000001', max_snapshots: '10001' });
  assert.deepEqual(Object.keys(errors).sort(), ['max_disk_gb', 'max_ram_mb', 'max_snapshots', 'max_vcpus', 'max_vms']);
  assert.match(errors.max_disk_gb!, /at most 1,000,000/);
});

test('credit form: a whole non-zero amount and a reason, as the server wants them', () => {
  assert.deepEqual(checkCredit(' 250 ', ' Welcome bonus '), { errors: {}, amount: 250, reason: 'Welcome bonus' });
  assert.deepEqual(Object.keys(checkCredit('0', '').errors).sort(), ['amount', 'reason']);
  assert.ok(checkCredit('2.5', 'x').errors.amount);
  assert.ok(checkCredit('-2000000000', 'x').errors.amount);
  assert.ok(checkCredit('5', 'x'.repeat(201)).errors.reason);
});
