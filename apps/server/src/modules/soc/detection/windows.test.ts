import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SocRule } from '@twarga/contract';
import { escalated } from '../blocks/blocks.service.js';
import { eventCountFires, MAX_OCCURRENCES, RuleWindows, temporalSequence, type Occurrence } from './windows.js';

const occ = (t: number, extra: Partial<Occurrence> = {}): Occurrence => ({ t, n: 1, eventId: t, code: 'ssh.login_failed', userId: null, username: null, vmId: 1, sourceIp: '198.51.100.1', ...extra });
const rule = (r: Partial<SocRule>) => ({ threshold: 5, window_seconds: 600, ...r }) as SocRule;

describe('sliding windows', () => {
  test('arrivals older than the window fall out; the sum counts increases', () => {
    const w = new RuleWindows();
    const r = rule({});
    for (let i = 0; i < 4; i++) w.add('g', occ(i * 1000), 600);
    let list = w.add('g', occ(601_000), 600);
    assert.equal(list.length, 4, 'the first (t=0) is more than 600 s before the newest');
    assert.equal(eventCountFires(r, list), false);
    list = w.add('g', occ(602_000, { n: 3 }), 600);
    assert.equal(eventCountFires(r, list), true, '2 + 1 + 1 + 3 (a fold of 3) reaches 5');
  });

  test('memory is bounded: groups per rule (least recently active go first) and arrivals per group', () => {
    const w = new RuleWindows(3);
    for (const g of ['a', 'b', 'c']) w.add(g, occ(1), 600);
    w.add('a', occ(2), 600);
    w.add('d', occ(3), 600);
    assert.equal(w.size, 3);
    assert.equal(w.add('b', occ(4), 600).length, 1, 'b was the stalest and was evicted: it starts afresh');
    assert.equal(w.add('a', occ(5), 600).length, 3, 'a, touched recently, kept its arrivals');
    assert.equal(w.add('c', occ(6), 600).length, 1, 'c was evicted when b came back');
    const big = new RuleWindows();
    let list: Occurrence[] = [];
    for (let i = 0; i < MAX_OCCURRENCES + 50; i++) list = big.add('g', occ(i), 600);
    assert.equal(list.length, MAX_OCCURRENCES);
    big.sweep(10_000_000, 600);
    assert.equal(big.size, 0, 'idle groups are swept');
  });

  test('temporal_ordered: the steps in order, each its min_count before the next', () => {
    const r = rule({ sequence: [{ match: { codes: ['ssh.login_failed'] }, min_count: 2 }, { match: { codes: ['ssh.login_succeeded'] } }] });
    const ok = occ(0, { steps: [1] });
    assert.equal(temporalSequence(r, [ok, occ(1, { steps: [0] }), occ(2, { steps: [0] })]), undefined, 'success before the failures');
    const seq = temporalSequence(r, [ok, occ(1, { steps: [0] }), occ(2, { steps: [0] }), occ(3, { steps: [1] })]);
    assert.deepEqual(seq?.map((o) => o.t), [1, 2, 3]);
  });

  test('a repeat offender: doubled per earlier block, capped, never shorter than asked', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((o) => escalated(600, o, 3000)), [600, 1200, 2400, 3000, 3000]);
    assert.equal(escalated(10_000, 2, 3000), 10_000, 'a longer block asked for is kept');
    assert.equal(escalated(600, 1000, 7 * 86400), 7 * 86400, 'no overflow');
  });
});
