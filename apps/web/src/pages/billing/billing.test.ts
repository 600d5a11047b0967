import assert from 'node:assert/strict';
import { test } from 'node:test';
import { burnText, capText, entryKind, hoursText, monthLabel, monthOptions, runwayText, statementTotals, usageLine } from './billing';

test('runway: hours under two days, days after, and nothing billing said as such', () => {
  assert.equal(runwayText({ balance: 999, burn_rate_hourly: 1, runway_hours: 999 }), 'Covers about 41 days.', 'rounded down: 41.6 days');
  assert.equal(runwayText({ balance: 30, burn_rate_hourly: 2, runway_hours: 15 }), 'Covers about 15 hours.');
  assert.equal(runwayText({ balance: 95, burn_rate_hourly: 2, runway_hours: 47.5 }), 'Covers about 47 hours.');
  assert.equal(runwayText({ balance: 1, burn_rate_hourly: 1, runway_hours: 1 }), 'Covers about 1 hour.');
  assert.equal(runwayText({ balance: 1, burn_rate_hourly: 4, runway_hours: 0.25 }), 'Covers less than an hour.');
  assert.equal(runwayText({ balance: 500, burn_rate_hourly: 0, runway_hours: null }), 'Nothing is billing right now: your balance stays as it is.');
  assert.equal(runwayText({ balance: 0, burn_rate_hourly: 3, runway_hours: 0 }), 'Your balance is used up.');
  assert.equal(runwayText({ balance: -4, burn_rate_hourly: 3, runway_hours: 0 }), 'Your balance is used up.');
});

test('burn rate: whole and fractional credits per hour, or nothing', () => {
  assert.equal(burnText(0), 'Nothing');
  assert.equal(burnText(1), '1 credit/hour');
  assert.equal(burnText(12), '12 credits/hour');
  assert.equal(burnText(0.333333), '0.33 credits/hour');
});

test('months are UTC calendar months, newest first, this month always offered', () => {
  assert.match(monthLabel('2026-11'), /November.*2026|2026.*November/);
  assert.match(monthLabel('2026-01'), /January/, 'no time zone moves the 1st into December');
  assert.deepEqual(monthOptions(['2026-10', '2026-09'], '2026-11'), ['2026-11', '2026-10', '2026-09']);
  assert.deepEqual(monthOptions(['2026-11', '2026-10'], '2026-11'), ['2026-11', '2026-10'], 'no duplicate');
  assert.deepEqual(monthOptions([], '2026-11'), ['2026-11']);
});

test('a ledger row is usage, refund, credit or debit as the filter names them', () => {
  assert.equal(entryKind({ kind: 'usage', amount: -2 }), 'usage');
  assert.equal(entryKind({ kind: 'first_hour', amount: -2 }), 'usage');
  assert.equal(entryKind({ kind: 'first_hour_refund', amount: 2 }), 'refund');
  assert.equal(entryKind({ kind: null, amount: 500 }), 'credit');
  assert.equal(entryKind({ kind: null, amount: -100 }), 'debit');
});

test('a statement adds up: opening + added − usage + other = closing', () => {
  assert.deepEqual(statementTotals({ opening_balance: 1000, credits_added: 500, total_credits: 42, closing_balance: 1458 }), { opening: 1000, added: 500, usage: 42, other: 0, closing: 1458 });
  // An administrator took 100 away: the statement shows it instead of not adding up.
  const t = statementTotals({ opening_balance: 1000, credits_added: 0, total_credits: 42, closing_balance: 858 });
  assert.equal(t.other, -100);
  assert.equal(t.opening + t.added - t.usage + t.other, t.closing);
});

test('a usage line is hours × price, with what was refunded', () => {
  assert.deepEqual(usageLine({ hours: 10, price_hourly: 3, credits: 30 }), { gross: 30, adjustment: 0 });
  assert.deepEqual(usageLine({ hours: 1, price_hourly: 4, credits: 0 }), { gross: 4, adjustment: -4 }, 'a refunded first hour');
});

test('the cap and the grace period in words', () => {
  assert.equal(capText(672), '672 hours (28 days)');
  assert.equal(capText(700), '700 hours');
  assert.equal(hoursText(24), '24 hours');
  assert.equal(hoursText(72), '3 days');
  assert.equal(hoursText(1), '1 hour');
  assert.equal(hoursText(0.5), '0.5 hours');
});
