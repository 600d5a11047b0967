import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertCompares, AlertWindows, HostAlertMetrics, VmAlertMetrics } from '@twarga/contract';
import { ALERT_COMPARES, ALERT_WINDOWS, conditionText, HOST_ALERT_METRICS, VM_ALERT_METRICS } from './alertMetrics';

test("the policy form offers exactly the contract's metrics, compares and windows", () => {
  assert.deepEqual(VM_ALERT_METRICS, VmAlertMetrics);
  assert.deepEqual(HOST_ALERT_METRICS, HostAlertMetrics);
  assert.deepEqual(ALERT_COMPARES, AlertCompares);
  assert.deepEqual(ALERT_WINDOWS, AlertWindows);
});

test('a condition reads like a sentence, in the metric unit', () => {
  assert.equal(conditionText({ metric: 'cpu_percent', compare: 'GreaterThan', value: 90, window: '5m' }), 'CPU > 90 % for 5m');
  assert.equal(conditionText({ metric: 'net_rx_bps', compare: 'LessThan', value: 2048, window: '1h' }), 'Network in < 2.0 KiB/s for 1h');
  assert.equal(conditionText({ metric: 'unresponsive', compare: null, value: null }), 'Unresponsive');
});
