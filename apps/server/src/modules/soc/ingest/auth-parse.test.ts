import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuthLine } from './auth-parse.js';

const A = '203.0.113.9';
const r = (outcome: string, user: string | null, method: string | null, address: string | null, port: number | null) => ({ outcome, user, method, address, port });

test('OpenSSH sshd lines', () => {
  const cases: [string, unknown][] = [
    [`Failed password for root from ${A} port 50122 ssh2`, r('failed', 'root', 'password', A, 50122)],
    [`Failed password for invalid user admin from ${A} port 50123 ssh2`, r('failed', 'admin', 'password', A, 50123)],
    [`Failed publickey for root from 2001:db8::1 port 22 ssh2: RSA SHA256:Qw3rTy`, r('failed', 'root', 'publickey', '2001:db8::1', 22)],
    [`Invalid user admin from ${A} port 50124`, r('invalid_user', 'admin', null, A, 50124)],
    [`Accepted password for debian from ${A} port 50125 ssh2`, r('succeeded', 'debian', 'password', A, 50125)],
    [`Accepted publickey for debian from ${A} port 50126 ssh2: ED25519 SHA256:Zx9`, r('succeeded', 'debian', 'publickey', A, 50126)],
    [`Connection closed by authenticating user root ${A} port 50127 [preauth]`, r('preauth', 'root', null, A, 50127)],
    [`Connection closed by invalid user oracle ${A} port 50128 [preauth]`, r('preauth', 'oracle', null, A, 50128)],
    [`Connection closed by ${A} port 50129 [preauth]`, r('preauth', null, null, A, 50129)],
    [`Disconnected from authenticating user root ${A} port 50130 [preauth]`, r('preauth', 'root', null, A, 50130)],
    [`Disconnected from invalid user test ${A} port 50131 [preauth]`, r('preauth', 'test', null, A, 50131)],
    [`Connection reset by ${A} port 50132 [preauth]`, r('preauth', null, null, A, 50132)],
  ];
  for (const [msg, want] of cases) assert.deepEqual(parseAuthLine('sshd', msg), want, msg);
  // OpenSSH 9.8+ logs the connection's process as sshd-session.
  assert.deepEqual(parseAuthLine('sshd-session', `Invalid user x from ${A} port 1`), r('invalid_user', 'x', null, A, 1));
  // Not login lines: the same event told twice, or PAM's view of it.
  for (const msg of [
    `Received disconnect from ${A} port 50122:11: Bye Bye [preauth]`,
    'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root',
    'Server listening on 0.0.0.0 port 22.',
    `Connection from ${A} port 50122 on 10.0.2.15 port 22 rdomain ""`,
  ]) {
    assert.equal(parseAuthLine('sshd', msg), undefined, msg);
  }
});

test('dropbear 2022.83 lines (captured from the tiny image)', () => {
  const cases: [string, unknown][] = [
    ['Child connection from 10.0.2.2:44454', { outcome: 'connection', address: '10.0.2.2', port: 44454 }],
    ["Bad password attempt for 'root' from 10.0.2.2:44454", r('failed', 'root', 'password', '10.0.2.2', 44454)],
    ['Login attempt for nonexistent user', r('invalid_user', null, null, null, null)],
    ['Login attempt for nonexistent user from 10.0.2.2:1234', r('invalid_user', null, null, '10.0.2.2', 1234)],
    ["Exit before auth from <10.0.2.2:44454>: (user 'root', 1 fails): Disconnect received", r('preauth', 'root', null, '10.0.2.2', 44454)],
    ['Exit before auth from <10.0.2.2:44460>: Disconnect received', r('preauth', null, null, '10.0.2.2', 44460)],
    ["Exit before auth from <10.0.2.2:5>: (user 'root', 10 fails): Max auth tries reached - user 'root'", r('preauth', 'root', null, '10.0.2.2', 5)],
    ["Password auth succeeded for 'root' from 10.0.2.2:40000", r('succeeded', 'root', 'password', '10.0.2.2', 40000)],
    ["Pubkey auth succeeded for 'root' with ssh-ed25519 key SHA256:abcDEF from 10.0.2.2:40001", r('succeeded', 'root', 'publickey', '10.0.2.2', 40001)],
    ["Pubkey auth bad signature for 'root' with key SHA256:abcDEF from 10.0.2.2:40002", r('failed', 'root', 'publickey', '10.0.2.2', 40002)],
    ["User account 'root' is locked", r('failed', 'root', 'password', null, null)],
    ["Bad password attempt for 'root' from ::ffff:192.0.2.7:41000", r('failed', 'root', 'password', '192.0.2.7', 41000)],
  ];
  for (const [msg, want] of cases) assert.deepEqual(parseAuthLine('dropbear', msg), want, msg);
  for (const msg of ['Running in background', 'Not backgrounding', 'Exit (root) from <10.0.2.2:1>: Disconnect received', "Bad password attempt for 'root' from nowhere"]) {
    assert.equal(parseAuthLine('dropbear', msg)?.address ?? undefined, undefined, msg);
  }
});

test("a program's lines are read only as that program's: another tag saying the same is not a login", () => {
  assert.equal(parseAuthLine('myapp', `Failed password for root from ${A} port 1 ssh2`), undefined);
  assert.equal(parseAuthLine(null, "Bad password attempt for 'root' from 10.0.2.2:1"), undefined);
});
