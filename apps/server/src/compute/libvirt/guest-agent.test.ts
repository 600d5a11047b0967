import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guestReportViaVirsh } from './guest-agent.js';

/** A fake virsh: answers per subcommand, records every argv. */
function fakeVirsh(answers: Record<string, string | Error>) {
  const calls: string[][] = [];
  const run = async (args: string[]) => {
    calls.push(args);
    const key = args[0] === 'qemu-agent-command' ? (JSON.parse(args[2]!) as { execute: string }).execute : args.slice(0, args[0] === 'dommemstat' && args.length > 2 ? 3 : 1).join(' ').replace(/ twarga-vm-1/, '');
    const a = answers[key];
    if (a instanceof Error || a === undefined) throw a ?? new Error(`unexpected virsh ${args.join(' ')}`);
    return a;
  };
  return { run, calls };
}

test('libvirt guest report: agent commands through virsh qemu-agent-command, memory from dommemstat', async () => {
  const v = fakeVirsh({
    'guest-ping': '{"return":{}}\n',
    'guest-get-fsinfo': JSON.stringify({ return: [{ mountpoint: '/data', type: 'ext4', 'used-bytes': 1, 'total-bytes': 2 }] }),
    'guest-network-get-interfaces': JSON.stringify({ return: [{ name: 'eth0', 'ip-addresses': [{ 'ip-address': '192.168.122.10' }], statistics: { 'rx-bytes': 5, 'tx-bytes': 6 } }] }),
    dommemstat: 'actual 262144\navailable 200000\nusable 150000\n',
  });
  assert.deepEqual(await guestReportViaVirsh(v.run, 'twarga-vm-1'), {
    agent: true,
    filesystems: [{ mountpoint: '/data', type: 'ext4', usedBytes: 1, totalBytes: 2 }],
    interfaces: [{ name: 'eth0', addresses: ['192.168.122.10'], rxBytes: 5, txBytes: 6 }],
    memory: { totalBytes: 200000 * 1024, availableBytes: 150000 * 1024 },
  });
  assert.deepEqual(v.calls[0], ['qemu-agent-command', 'twarga-vm-1', '{"execute":"guest-ping"}', '--timeout', '2']);
});

test('libvirt guest report: a silent agent is {agent:false} and nothing else; no balloon stats turns the period on', async () => {
  const silent = fakeVirsh({ 'guest-ping': new Error('error: Guest agent is not responding: QEMU guest agent is not connected') });
  assert.deepEqual(await guestReportViaVirsh(silent.run, 'twarga-vm-1'), { agent: false });
  assert.equal(silent.calls.length, 1, 'nothing asked after a silent ping');

  const noPeriod = fakeVirsh({ 'guest-ping': '{"return":{}}', 'guest-get-fsinfo': new Error('x'), 'guest-network-get-interfaces': '{"return":[]}', dommemstat: 'actual 262144\nrss 1000\n', 'dommemstat --period': '' });
  // guest-get-fsinfo failed: its field is absent, not an empty list.
  assert.deepEqual(await guestReportViaVirsh(noPeriod.run, 'twarga-vm-1'), { agent: true, interfaces: [] });
  assert.deepEqual(noPeriod.calls.at(-1), ['dommemstat', 'twarga-vm-1', '--period', '2', '--live']);
});
