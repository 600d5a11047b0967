import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertLibvirtUri,
  classifyVirshError,
  isLocalUri,
  mapDomState,
  parseDomIfAddr,
  parseDomState,
  parseDomStats,
  runningDomainStats,
  parseKeyValues,
  parseNameList,
  parseVolInfo,
  parseVolList,
  Virsh,
} from './virsh.js';

/** Outputs captured from virsh 9.0 (`virsh -q`, LC_ALL=C) on this machine. */
describe('virsh output parsers', () => {
  test('domstate → state text → instance state', () => {
    assert.equal(parseDomState('shut off\n\n'), 'shut off');
    assert.equal(parseDomState('running (booted)\n'), 'running');
    for (const s of ['running', 'paused', 'blocked', 'in shutdown', 'pmsuspended', 'idle']) assert.equal(mapDomState(s), 'running', s);
    for (const s of ['shut off', 'crashed', 'no state']) assert.equal(mapDomState(s), 'stopped', s);
  });

  test('domifaddr --source lease', () => {
    const out = ' vnet0      52:54:00:96:71:ad    ipv4         192.168.122.111/24\n -          -                    ipv6         fe80::5054:ff:fe96:71ad/64\n\n';
    assert.deepEqual(parseDomIfAddr(out), [
      { iface: 'vnet0', mac: '52:54:00:96:71:ad', protocol: 'ipv4', address: '192.168.122.111', prefix: 24 },
      { iface: 'vnet0', mac: '52:54:00:96:71:ad', protocol: 'ipv6', address: 'fe80::5054:ff:fe96:71ad', prefix: 64 },
    ]);
    // Without -q there is a header; with no lease the output is empty.
    const withHeader = ' Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n vnet3      52:54:00:aa:bb:cc    ipv4         192.168.122.5/24\n';
    assert.deepEqual(parseDomIfAddr(withHeader).map((a) => a.address), ['192.168.122.5']);
    assert.deepEqual(parseDomIfAddr('\n'), []);
  });

  test('list --name', () => {
    assert.deepEqual(parseNameList('twarga-vm-1\nother\n\n'), ['twarga-vm-1', 'other']);
    assert.deepEqual(parseNameList('\n'), []);
  });

  test('vol-list (with and without --details)', () => {
    const out = ' disk1   /var/lib/libvirt/images/twarga-probe/disk1\n kern    /var/lib/libvirt/images/twarga-probe/kern\n';
    assert.deepEqual(parseVolList(out), [
      { name: 'disk1', path: '/var/lib/libvirt/images/twarga-probe/disk1' },
      { name: 'kern', path: '/var/lib/libvirt/images/twarga-probe/kern' },
    ]);
    const header = ' Name    Path\n------------------------------------\n seed.iso   /p/seed.iso\n';
    assert.deepEqual(parseVolList(header), [{ name: 'seed.iso', path: '/p/seed.iso' }]);
    assert.deepEqual(parseVolList(''), []);
  });

  test('vol-info --bytes, pool-info, net-info', () => {
    const vol = 'Name:           kern\nType:           file\nCapacity:       8247232 bytes\nAllocation:     8249344 bytes\n';
    assert.deepEqual(parseVolInfo(vol), { capacity: 8247232, allocation: 8249344 });
    assert.throws(() => parseVolInfo('Name: x\nCapacity: 1.00 GiB\n'), /unexpected vol-info/);
    const pool = 'Name:           twarga\nUUID:           726ec3ee-b1cd-4035-9e60-b69885e951a9\nState:          running\nPersistent:     yes\n';
    assert.equal(parseKeyValues(pool).state, 'running');
    assert.equal(parseKeyValues('Name:           default\nActive:         yes\nBridge:         virbr0\n').active, 'yes');
  });

  test('domstats', () => {
    const out = "Domain: 'a'\n  state.state=1\n  state.reason=1\n  cpu.time=310000000\n  balloon.current=262144\n\nDomain: 'b b'\n  state.state=5\n";
    const stats = parseDomStats(out);
    assert.deepEqual([...stats.keys()], ['a', 'b b']);
    assert.equal(stats.get('a')!['cpu.time'], '310000000');
    assert.equal(stats.get('a')!['balloon.current'], '262144');
    assert.deepEqual(stats.get('b b'), { 'state.state': '5' });
  });

  test('domstats of a running domain → the contract counters (devices summed, KiB → bytes); a shut-off one has none', () => {
    const out = [
      "Domain: 'twarga-vm-3'",
      '  state.state=1', '  state.reason=1',
      '  cpu.time=2143000000', '  cpu.user=900000000', '  cpu.system=400000000',
      '  balloon.current=262144', '  balloon.maximum=262144', '  balloon.rss=151232',
      '  net.count=1', '  net.0.name=vnet3', '  net.0.rx.bytes=52014', '  net.0.rx.pkts=410', '  net.0.tx.bytes=9021', '  net.0.tx.pkts=88',
      '  block.count=2', '  block.0.name=vda', '  block.0.rd.bytes=1048576', '  block.0.wr.bytes=4194304', '  block.1.name=vdb', '  block.1.rd.bytes=512', '  block.1.wr.bytes=0',
      '',
    ].join('\n');
    assert.equal(runningDomainStats("Domain: 'off'\n  state.state=5\n  state.reason=1\n  balloon.maximum=262144\n", 'off'), undefined, 'shut off');
    assert.equal(runningDomainStats(out, 'another'), undefined);
    assert.deepEqual(runningDomainStats(out, 'twarga-vm-3'), {
      cpuTimeNs: 2143000000,
      memoryRssBytes: 151232 * 1024,
      disk: { readBytes: 1048576 + 512, writeBytes: 4194304 },
      network: { rxBytes: 52014, txBytes: 9021 },
    });
  });

  test('error messages are classified', () => {
    assert.equal(classifyVirshError("error: failed to get domain 'nosuch'\n"), 'not-found');
    assert.equal(classifyVirshError("error: failed to get vol 'nosuch'\nerror: Storage volume not found: no storage vol with matching path 'nosuch'"), 'not-found');
    assert.equal(classifyVirshError("error: failed to get pool 'x'\nerror: Storage pool not found: no storage pool with matching name 'x'"), 'not-found');
    assert.equal(classifyVirshError("error: Failed to destroy domain 'd'\nerror: Requested operation is not valid: domain is not running"), 'not-running');
    assert.equal(classifyVirshError("error: Failed to start domain 'd'\nerror: Requested operation is not valid: domain is already running"), 'already-running');
    assert.equal(classifyVirshError('error: internal error: something'), 'other');
    // libvirtd down is an error to report, never a missing domain.
    assert.equal(classifyVirshError("error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory"), 'other');
  });

  test('URIs: validated; local only without a host and over the unix socket', () => {
    for (const u of ['qemu:///system', 'qemu:///session', 'qemu+unix:///system']) assert.equal(isLocalUri(u), true, u);
    for (const u of ['qemu+ssh://root@host/system', 'qemu+tcp://10.0.0.2/system', 'qemu+ssh:///system', 'qemu://host/system']) assert.equal(isLocalUri(u), false, u);
    for (const u of ['', '--connect', 'qemu:///system x', 'system', '/var/run/libvirt/libvirt-sock']) {
      assert.throws(() => assertLibvirtUri(u), /invalid libvirt URI/, u);
      assert.throws(() => new Virsh(u));
    }
  });

  test('a stored URI is re-checked at use: parameters that run programs never reach virsh', () => {
    // Host rows written before the API checked the query: the driver must refuse them too.
    for (const u of ['qemu+ssh://root@host/system?command=/tmp/x', 'qemu+ext:///system?command=/bin/sh', 'qemu+ssh://root@host/system?netcat=/tmp/nc', 'qemu+ssh://-oProxyCommand=x@host/system', 'qemu+ssh://root@host/system?name=qemu%2Bext:///system']) {
      assert.throws(() => assertLibvirtUri(u), /invalid libvirt URI/, u);
      assert.throws(() => new Virsh(u), /invalid libvirt URI/, u);
    }
    for (const u of ['qemu:///system', 'qemu+ssh://root@host/system?keyfile=/root/.ssh/id&no_tty=1', 'qemu+tcp://127.0.0.1/system', 'qemu+unix:///system?socket=/run/libvirt/libvirt-sock']) {
      assert.doesNotThrow(() => new Virsh(u), u);
    }
  });
});
