import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SocRule } from '@twarga/contract';
import { escalated } from '../blocks/blocks.service.js';
import { eventCountFires, GroupWindow, MAX_OCCURRENCES, RuleWindows, temporalSequence, valueCountFires, type Occurrence } from './windows.js';

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
    assert.deepEqual(list.occurrences().map((o) => o.t), [2000, 3000, 601_000, 602_000], 'what an incident opens with');
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
    let list!: GroupWindow;
    for (let i = 0; i < MAX_OCCURRENCES + 50; i++) list = big.add('g', occ(i), 600);
    assert.equal(list.length, MAX_OCCURRENCES);
    assert.equal(list.sum, MAX_OCCURRENCES, 'the running sum follows the arrivals that left');
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

  test('value_count: distinct values inside the window; a value leaves when its last arrival does', () => {
    const r = rule({ threshold: 3 });
    const w = new GroupWindow();
    w.add(occ(0, { value: 'root' }), 600);
    w.add(occ(1000, { value: 'admin' }), 600);
    w.add(occ(2000, { value: 'root' }), 600);
    assert.equal(w.distinct, 2);
    assert.equal(valueCountFires(r, w), false, 'repeats of one name do not add up');
    w.add(occ(600_500, { value: 'oracle' }), 600);
    assert.equal(w.distinct, 3, "t=0 left, but root's later arrival (t=2000) keeps it in");
    assert.equal(valueCountFires(r, w), true);
    w.add(occ(602_500, { value: 'oracle' }), 600);
    assert.deepEqual([w.distinct, w.length], [1, 2], 'admin and both roots left');
  });

  /**
   * The incremental window against the plain definitions on random streams: the sum, the
   * distinct values and the ordered sequence (the same arrivals as the greedy scan over the
   * whole list) after every arrival, with repeats (n > 1), expiry, arrivals matching several
   * steps, and three-step sequences.
   */
  test('incremental figures equal a full recomputation over the window, after every arrival', () => {
    let seed = 42;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    const sequences = [
      [{ match: { codes: ['a'] }, min_count: 5 }, { match: { codes: ['b'] } }],
      [{ match: { codes: ['a'] }, min_count: 2 }, { match: { codes: ['b'] }, min_count: 3 }, { match: { codes: ['c'] }, min_count: 2 }],
    ];
    const outcomes = { complete: 0, not: 0 };
    for (const sequence of sequences) {
      const r = rule({ sequence } as Partial<SocRule>);
      for (let round = 0; round < 20; round++) {
        let w = new GroupWindow();
        let all: Occurrence[] = [];
        let t = 0;
        for (let i = 0; i < 300; i++) {
          t += rand(round % 2 ? 150 : 40) * 1000;
          const steps = [0, 1, 2].filter((s) => s < sequence.length && rand(s === 0 ? 2 : 5) === 0);
          const o = occ(t, { eventId: i, n: 1 + (rand(4) === 0 ? rand(3) : 0), value: `v${rand(7)}`, steps });
          all.push(o);
          w.add(o, 600);
          const inside = all.filter((x) => x.t >= t - 600_000);
          assert.equal(w.length, inside.length);
          assert.equal(w.sum, inside.reduce((s, x) => s + x.n, 0));
          assert.equal(w.distinct, new Set(inside.map((x) => x.value)).size);
          const used = w.sequence(r);
          assert.deepEqual(used?.map((x) => x.eventId), temporalSequence(r, inside)?.map((x) => x.eventId), `round ${round}, arrival ${i}`);
          outcomes[used ? 'complete' : 'not']++;
          // As the engine does: a complete sequence fires and the group starts afresh.
          if (used) [w, all] = [new GroupWindow(), []];
        }
      }
    }
    assert.ok(outcomes.not > 1000 && outcomes.complete > 200, `both outcomes are exercised: ${JSON.stringify(outcomes)}`);
  });

  test('a repeat offender: doubled per earlier block, capped, never shorter than asked', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((o) => escalated(600, o, 3000)), [600, 1200, 2400, 3000, 3000]);
    assert.equal(escalated(10_000, 2, 3000), 10_000, 'a longer block asked for is kept');
    assert.equal(escalated(600, 1000, 7 * 86400), 7 * 86400, 'no overflow');
  });
});
