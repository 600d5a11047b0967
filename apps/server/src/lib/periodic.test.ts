import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import type { Leadership } from './leadership.js';
import { Periodic } from './periodic.js';

const quiet = { warn() {}, info() {}, error() {}, debug() {}, child: () => quiet } as unknown as FastifyBaseLogger;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a cluster job runs within seconds of its process becoming the leader (again), not a whole interval later, then keeps its interval", async () => {
  let leads = true;
  const leadership: Leadership = { lead: async () => leads, get leading() { return leads; }, close: async () => {} };
  const passes: number[] = [];
  const job = new Periodic('hourly', async () => void passes.push(Date.now()), quiet).ledBy(leadership);
  job.start(3_600_000);
  try {
    await sleep(2_300);
    assert.equal(passes.length, 1, 'the leader runs a first pass at its first tick');
    leads = false;
    await sleep(2_000);
    assert.deepEqual([passes.length, job.status().standby], [1, true], 'a standby runs nothing');
    leads = true;
    const becameLeader = Date.now();
    await sleep(2_200);
    assert.equal(passes.length, 2, 'a pass as soon as it leads again, though its hour is not over');
    assert.ok(passes[1]! - becameLeader <= 2_200, `ran ${passes[1]! - becameLeader} ms after becoming the leader`);
    await sleep(2_000);
    assert.equal(passes.length, 2, 'then it waits for its interval (an hour), not the leadership poll');
  } finally {
    job.stop();
  }
});
