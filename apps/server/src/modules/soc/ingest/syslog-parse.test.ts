import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSyslog } from './syslog-parse.js';

test('RFC 3164 without a hostname, as glibc and busybox write to /dev/log', () => {
  assert.deepEqual(parseSyslog("<38>Nov 30 17:00:00 dropbear[123]: Bad password attempt for 'root' from 10.0.2.2:54321"), {
    facility: 4,
    severity: 6,
    timestamp: 'Nov 30 17:00:00',
    hostname: null,
    app: 'dropbear',
    pid: 123,
    msg: "Bad password attempt for 'root' from 10.0.2.2:54321",
  });
});

test('RFC 3164 with a hostname: what the tiny image relays (captured from a real guest) and rsyslog forwards', () => {
  const m = parseSyslog("<84>Nov 30 17:42:08 tiny dropbear[146]: Bad password attempt for 'root' from 10.0.2.2:44454");
  assert.deepEqual([m?.facility, m?.severity, m?.hostname, m?.app, m?.pid, m?.msg], [10, 4, 'tiny', 'dropbear', 146, "Bad password attempt for 'root' from 10.0.2.2:44454"]);
  // A single-digit day is padded with a space.
  const padded = parseSyslog('<86>Nov  3 07:01:02 web-1 sshd[881]: Accepted publickey for debian from 203.0.113.9 port 50122 ssh2: ED25519 SHA256:abc');
  assert.deepEqual([padded?.timestamp, padded?.hostname, padded?.app, padded?.pid], ['Nov  3 07:01:02', 'web-1', 'sshd', 881]);
  // rsyslog's RSYSLOG_ForwardFormat: an RFC 3339 time instead of the BSD one.
  const iso = parseSyslog('<86>2026-11-30T17:00:00.123456+00:00 web-1 sshd[881]: Invalid user admin from 203.0.113.9 port 50122');
  assert.deepEqual([iso?.timestamp, iso?.hostname, iso?.app, iso?.msg], ['2026-11-30T17:00:00.123456+00:00', 'web-1', 'sshd', 'Invalid user admin from 203.0.113.9 port 50122']);
  // A tag without a pid.
  assert.equal(parseSyslog('<13>Nov 30 17:00:00 tiny root: hello world')?.app, 'root');
});

test('RFC 5424, with and without structured data', () => {
  assert.deepEqual(parseSyslog('<38>1 2026-11-30T17:00:00.003Z web-1 sshd 881 - - Failed password for root from 203.0.113.9 port 50122 ssh2'), {
    facility: 4,
    severity: 6,
    timestamp: '2026-11-30T17:00:00.003Z',
    hostname: 'web-1',
    app: 'sshd',
    pid: 881,
    msg: 'Failed password for root from 203.0.113.9 port 50122 ssh2',
  });
  const sd = parseSyslog('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli\\] cation"][x@1 a="b"] \uFEFFAn application event');
  assert.deepEqual([sd?.app, sd?.pid, sd?.msg], ['evntslog', null, 'An application event']);
  const nil = parseSyslog('<34>1 - - - - - -');
  assert.deepEqual([nil?.timestamp, nil?.hostname, nil?.app, nil?.msg], [null, null, null, '']);
});

test('what is not syslog is refused, not guessed', () => {
  for (const bad of [
    '',
    'hello',
    'Nov 30 17:00:00 tiny dropbear[1]: no priority',
    '<999>Nov 30 17:00:00 tiny x: priority out of range',
    '<38>yesterday tiny x: no timestamp',
    '<38>Nov 30 17:00:00',
    '<38>1 not-a-time host app - - - msg',
    '<38>1 2026-11-30T17:00:00Z host app - - [unterminated sd',
    '<38>1 2026-11-30T17:00:00Z host app',
  ]) {
    assert.equal(parseSyslog(bad), undefined, bad);
  }
});

test("rsyslog's forward as the cloud images' vendor-data configures it (captured from rsyslog 8.2302, octet-counted RFC 5424)", async () => {
  const { SyslogFramer } = await import('./framing.js');
  const wire = '115 <84>1 2026-11-30T17:51:56.709119+00:00 vm sshd 9542 - -  Failed password for root from 203.0.113.9 port 50122 ssh2\n';
  const [frame] = new SyslogFramer(8192).push(Buffer.from(wire));
  const m = parseSyslog(frame!.line.toString());
  assert.deepEqual([m?.facility, m?.severity, m?.app, m?.pid, m?.msg], [10, 4, 'sshd', 9542, 'Failed password for root from 203.0.113.9 port 50122 ssh2']);
});
