import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobStatus } from '../../../lib/periodic.js';
import { judgeJob } from './job-health.js';
import { parseVirshVersion } from './host-probe.js';
import { worst } from './status.js';

const now = new Date('2026-11-30T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000);
const job = (over: Partial<JobStatus>): JobStatus => ({ name: 'metering', intervalMs: 60_000, running: true, lastRunAt: ago(10), lastDurationMs: 12, lastError: null, standby: false, ...over });
const judge = (over: Partial<JobStatus>, startedSecondsAgo = 3600) => judgeJob(job(over), now, ago(startedSecondsAgo));

test('a job that ran within its interval is healthy; late (>3 intervals) degraded; long dead (>10) failed', () => {
  assert.equal(judge({}).status, 'healthy');
  assert.equal(judge({ lastRunAt: ago(170) }).status, 'healthy');
  assert.equal(judge({ lastRunAt: ago(190) }).status, 'degraded');
  assert.equal(judge({ lastRunAt: ago(601) }).status, 'failed');
  assert.equal(judge({}).name, 'job:metering');
  assert.equal(judgeJob(job({ name: 'metrics collector' }), now, now).name, 'job:metrics_collector');
});

test('short intervals get 30 s of slack before they count as late', () => {
  assert.equal(judge({ intervalMs: 2000, lastRunAt: ago(20) }).status, 'healthy');
  assert.equal(judge({ intervalMs: 2000, lastRunAt: ago(40) }).status, 'degraded');
});

test('a failed last pass is degraded with its error; a job not on a schedule is degraded', () => {
  const failed = judge({ lastError: 'database is locked' });
  assert.equal(failed.status, 'degraded');
  assert.match(failed.detail, /database is locked/);
  assert.equal(judge({ running: false }).status, 'degraded');
  assert.equal(judge({ running: false, intervalMs: 0, lastRunAt: null }).status, 'degraded');
});

test('a job that never ran is healthy just after start and failed once it should have run many times', () => {
  assert.equal(judge({ lastRunAt: null }, 30).status, 'healthy');
  assert.equal(judge({ lastRunAt: null }, 3600).status, 'failed');
});

test('the worst status wins; virsh version output is read', () => {
  assert.equal(worst([]), 'healthy');
  assert.equal(worst(['healthy', 'degraded']), 'degraded');
  assert.equal(worst(['degraded', 'failed', 'healthy']), 'failed');
  const out = 'Compiled against library: libvirt 10.0.0\nUsing library: libvirt 10.0.0\nUsing API: QEMU 10.0.0\nRunning hypervisor: QEMU 8.2.2\nRunning against daemon: 10.0.0\n';
  assert.equal(parseVirshVersion(out), 'libvirt 10.0.0, QEMU 8.2.2');
  assert.equal(parseVirshVersion('error: failed to connect'), null);
});

test('a standby process\'s cluster job (another process leads) is healthy however long ago it last ran here', () => {
  const standby = judge({ standby: true, lastRunAt: null }, 86_400);
  assert.equal(standby.status, 'healthy');
  assert.match(standby.detail, /another server process runs it/);
  assert.equal(judge({ standby: false, lastRunAt: null }, 86_400).status, 'failed', 'the same job, leading and never run, is failed');
});
