import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabaseKinds } from '../../test-support/databases.js';
import { FakeDriver } from '../../test-support/fake-driver.js';
import { createHarness, type Harness } from '../../test-support/harness.js';

/** Compute hosts and placement, with a fake driver behind every host; real libvirt/vagrant run in tests/integration. */
for (const kind of testDatabaseKinds()) {
  describe(`compute hosts and the scheduler (${kind})`, () => {
    let h: Harness;
    let admin: string;
    let alice: { id: number; token: string };
    before(async () => {
      h = await createHarness(kind, { sshPortRange: '25500-25599', maxVmsPerUser: 20, maxRamPerUserMb: 64 * 1024, maxVcpusPerUser: 64 }, new FakeDriver());
      admin = await h.adminToken();
      alice = await h.user('alice');
      await h.request({ method: 'POST', url: `/api/admin/users/${alice.id}/credits`, token: admin, body: { amount: 100_000, reason: 'test' } });
    });
    after(() => h.close());

    const hostsReq = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url = '/api/admin/hosts', body?: unknown, token = admin) => h.request({ method, url, token, body });
    const createVm = (name: string, size = 's-1vcpu-1gb') => h.request({ method: 'POST', url: '/api/vms', token: alice.token, body: { name, image: 'tiny', size } });

    test('this machine is the first host (qemu, its RAM); only admins see hosts', async () => {
      const res = await hostsReq('GET');
      assert.equal(res.statusCode, 200);
      const [local] = res.json();
      assert.equal(local.name, 'local');
      assert.equal(local.driver, 'qemu');
      assert.ok(local.ram_mb > 1024 && local.vcpus >= 1);
      assert.equal((await hostsReq('GET', '/api/admin/hosts', undefined, alice.token)).statusCode, 403);
    });

    test('bad hosts are clear 400/409s', async () => {
      const cases: [unknown, number, string][] = [
        [{ name: 'lv', driver: 'libvirt', ram_mb: 4096, vcpus: 4 }, 400, 'uri'],
        [{ name: 'lv', driver: 'libvirt', uri: 'qemu+ssh://root@host/system; rm -rf /', ram_mb: 4096, vcpus: 4 }, 400, 'uri'],
        [{ name: 'lv', driver: 'libvirt', uri: 'http://evil/system', ram_mb: 4096, vcpus: 4 }, 400, 'uri'],
        [{ name: 'Bad Name', driver: 'libvirt', uri: 'qemu:///system', ram_mb: 4096, vcpus: 4 }, 400, 'name'],
        [{ name: 'q2', driver: 'qemu', uri: 'qemu:///system', ram_mb: 4096, vcpus: 4 }, 400, 'uri'],
        [{ name: 'x', driver: 'xen', ram_mb: 4096, vcpus: 4 }, 400, 'driver'],
        [{ name: 'q2', driver: 'qemu', ram_mb: 4096, vcpus: 4 }, 409, ''],
        [{ name: 'local', driver: 'libvirt', uri: 'qemu:///system', ram_mb: 4096, vcpus: 4 }, 409, 'name'],
      ];
      for (const [body, status, field] of cases) {
        const res = await hostsReq('POST', '/api/admin/hosts', body);
        assert.equal(res.statusCode, status, `${JSON.stringify(body)} → ${res.body}`);
        if (field) assert.ok(JSON.stringify(res.json().details ?? []).includes(field), `${field} named in ${res.body}`);
      }
      assert.equal((await hostsReq('GET')).json().length, 1, 'nothing was created');
    });

    test('libvirt URI parameters that run programs are refused, naming the parameter; inert ones pass', async () => {
      const refused: [string, RegExp][] = [
        ['qemu+ssh://root@host/system?netcat=/tmp/evil', /netcat.*run/],
        ['qemu+ssh://root@host/system?command=/tmp/evil', /command.*run/],
        ['qemu+ssh://root@host/system?no_tty=1&name=evil', /name/],
        ['qemu+ssh://root@host/system?keyfile=relative/key', /keyfile must be an absolute path/],
        ['qemu+ssh://root@host/system?keyfile=/root/../etc/shadow', /keyfile must be an absolute path/],
        ['qemu+ssh://root@host/system?known_hosts_verify=always', /known_hosts_verify/],
        ['qemu+tcp://host/system?no_verify=1&no_verify=0', /no_verify is given twice/],
        ['qemu+tls://host/system?tls_priority=NORMAL', /tls_priority is not allowed/],
        ['qemu+ssh://-oProxyCommand/system', /not a plain user name and host name/],
      ];
      for (const [uri, message] of refused) {
        const res = await hostsReq('POST', '/api/admin/hosts', { name: 'lv-bad', driver: 'libvirt', uri, ram_mb: 4096, vcpus: 4 });
        assert.equal(res.statusCode, 400, `${uri} → ${res.body}`);
        assert.equal(res.json().code, 'validation_failed');
        assert.equal(res.json().details[0].field, 'uri');
        assert.match(res.json().details[0].message, message, uri);
      }
      const good = await hostsReq('POST', '/api/admin/hosts', { name: 'lv-good', driver: 'libvirt', uri: 'qemu+ssh://twarga@rack-9.example:2222/system?keyfile=/etc/twarga/rack9_ed25519&no_tty=1&proxy=native&mode=direct', ram_mb: 4096, vcpus: 4, enabled: false });
      assert.equal(good.statusCode, 201, good.body);
      assert.equal((await hostsReq('DELETE', `/api/admin/hosts/${good.json().id}`)).statusCode, 204);
      assert.equal((await hostsReq('GET')).json().length, 1, 'only the good one was created, and it is gone again');
    });

    test('two hosts: new VMs go to the one with the most free RAM, a draining one gets none, each VM remembers its host', async () => {
      const [local] = (await hostsReq('GET')).json();
      await hostsReq('PATCH', `/api/admin/hosts/${local.id}`, { ram_mb: 4096, vcpus: 8 });
      const second = await hostsReq('POST', '/api/admin/hosts', { name: 'rack-2', driver: 'libvirt', uri: 'qemu+ssh://root@rack-2/system', ram_mb: 4096, vcpus: 8 });
      assert.equal(second.statusCode, 201, second.body);
      const placed: number[] = [];
      for (const n of ['a1', 'a2', 'a3', 'a4']) placed.push((await createVm(n)).json().host_id);
      assert.deepEqual(placed.sort(), [local.id, local.id, second.json().id, second.json().id].sort());
      const vmsRes = (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json();
      assert.ok(vmsRes.every((v: { host_id: number; driver: string }) => (v.host_id === local.id ? v.driver === 'qemu' : v.driver === 'libvirt')));

      await hostsReq('PATCH', `/api/admin/hosts/${second.json().id}`, { draining: true });
      for (const n of ['b1', 'b2']) assert.equal((await createVm(n)).json().host_id, local.id);
      const usage = (await hostsReq('GET')).json();
      assert.deepEqual(usage.map((x: { name: string; usage: { vms: number; ram_mb: number } }) => [x.name, x.usage.vms, x.usage.ram_mb]), [['local', 4, 4096], ['rack-2', 2, 2048]]);
    });

    test('a host shows the VMs still on it (what draining it leaves), only to admins', async () => {
      const rack = (await hostsReq('GET')).json().find((x: { name: string }) => x.name === 'rack-2');
      const res = await hostsReq('GET', `/api/admin/hosts/${rack.id}`);
      assert.equal(res.statusCode, 200, res.body);
      const mine = (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json().filter((v: { host_id: number }) => v.host_id === rack.id);
      assert.equal(res.json().draining, true);
      assert.deepEqual(res.json().vms, mine.map((v: { id: number; name: string; status: string }) => ({ id: v.id, name: v.name, owner: 'alice', status: v.status })));
      assert.equal(res.json().vms.length, 2);
      assert.equal((await hostsReq('GET', `/api/admin/hosts/${rack.id}`, undefined, alice.token)).statusCode, 403);
      assert.equal((await hostsReq('GET', '/api/admin/hosts/9999')).statusCode, 404);
    });

    test('a libssh host is opened before it is added: one that does not answer is a 409 host_unreachable, nothing stored', async () => {
      // Nothing listens on this loopback port (the test's own range): libssh's connect is refused.
      const uri = 'qemu+libssh://root@127.0.0.1:27949/system?keyfile=/nonexistent/id&known_hosts=/nonexistent/known_hosts';
      const res = await hostsReq('POST', '/api/admin/hosts', { name: 'rack-ssh', driver: 'libvirt', uri, ram_mb: 4096, vcpus: 8 });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'host_unreachable');
      assert.match(res.json().message, /127\.0\.0\.1:27949 did not answer/);
      assert.ok(!(await hostsReq('GET')).json().some((x: { name: string }) => x.name === 'rack-ssh'));
    });

    test('no room anywhere is a 503 no_capacity that creates nothing; a host with VMs cannot be removed', async () => {
      const before = (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json().length;
      const res = await createVm('full');
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().code, 'no_capacity');
      assert.equal((await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json().length, before);
      const rack = (await hostsReq('GET')).json().find((x: { name: string }) => x.name === 'rack-2');
      assert.equal((await hostsReq('DELETE', `/api/admin/hosts/${rack.id}`)).statusCode, 409);
      const audit = await h.services.events.list({ type: 'admin' });
      assert.ok(['admin.host_created', 'admin.host_updated'].every((a) => audit.some((e) => e.action === a)));
    });

    test('a disabled host is out of service: its VMs take no actions until it is enabled again', async () => {
      const rack = (await hostsReq('GET')).json().find((x: { name: string }) => x.name === 'rack-2');
      const vm = (await h.request({ method: 'GET', url: '/api/vms', token: alice.token })).json().find((v: { host_id: number }) => v.host_id === rack.id);
      await hostsReq('PATCH', `/api/admin/hosts/${rack.id}`, { enabled: false });
      const refused = await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: alice.token, body: { action: 'stop' } });
      assert.equal(refused.statusCode, 409);
      assert.match(refused.json().message, /rack-2 is disabled/);
      await hostsReq('PATCH', `/api/admin/hosts/${rack.id}`, { enabled: true });
      assert.equal((await h.request({ method: 'POST', url: `/api/vms/${vm.id}/action`, token: alice.token, body: { action: 'stop' } })).statusCode, 202);
      await h.services.ops.idle();
    });

    test('simultaneous launches never overcommit a host: its last free room goes to exactly as many VMs as fit', async () => {
      const rack = (await hostsReq('GET')).json().find((x: { name: string }) => x.name === 'rack-2');
      await hostsReq('PATCH', `/api/admin/hosts/${rack.id}`, { draining: false }); // 2 GB free there, none elsewhere
      const results = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5'].map((n) => createVm(n)));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 201, 503, 503, 503], results.map((r) => r.body).join('\n'));
      const usage = (await hostsReq('GET')).json();
      assert.ok(usage.every((x: { ram_mb: number; usage: { ram_mb: number } }) => x.usage.ram_mb <= x.ram_mb), JSON.stringify(usage));
      await h.services.ops.idle();
    });

    test("a libvirt host may have its own storage pool: validated, shown, and changed only while it has no VMs (their volumes are in the old one)", async () => {
      type View = { id: number; name: string; pool: string | null; pool_is_default: boolean };
      const byName = async (name: string): Promise<View> => (await hostsReq('GET')).json().find((x: View) => x.name === name);
      const serverPool = h.config.libvirtPool;
      assert.deepEqual([(await byName('local')).pool, (await byName('rack-2')).pool, (await byName('rack-2')).pool_is_default], [null, serverPool, true], 'qemu has none; libvirt follows TWARGA_LIBVIRT_POOL');

      for (const pool of ['Vols', '9lives', 'a'.repeat(33), '../etc', 'p;rm', 'x y']) {
        const res = await hostsReq('POST', '/api/admin/hosts', { name: 'rack-3', driver: 'libvirt', uri: 'qemu+ssh://root@rack-3/system', pool, ram_mb: 4096, vcpus: 8 });
        assert.equal(res.statusCode, 400, `${pool} → ${res.body}`);
        assert.equal(res.json().details[0].field, 'pool', res.body);
      }
      for (const driver of ['qemu', 'vagrant']) {
        const res = await hostsReq('POST', '/api/admin/hosts', { name: 'nopool', driver, pool: 'vols', ram_mb: 4096, vcpus: 8 });
        assert.equal(res.statusCode, 400, res.body);
        assert.match(res.json().details[0].message, new RegExp(`not used by ${driver}`));
      }
      const local = await byName('local');
      const onQemu = await hostsReq('PATCH', `/api/admin/hosts/${local.id}`, { pool: 'vols' });
      assert.equal(onQemu.statusCode, 400, onQemu.body);
      assert.equal(onQemu.json().details[0].field, 'pool');

      const created = await hostsReq('POST', '/api/admin/hosts', { name: 'rack-3', driver: 'libvirt', uri: 'qemu+ssh://root@rack-3/system', pool: 'rack3_vols', ram_mb: 4096, vcpus: 8 });
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual([created.json().pool, created.json().pool_is_default], ['rack3_vols', false]);
      const rack3 = created.json().id as number;
      // No VMs yet: the pool may change, and null goes back to the server's.
      const moved = await hostsReq('PATCH', `/api/admin/hosts/${rack3}`, { pool: 'rack3-new' });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal((await byName('rack-3')).pool, 'rack3-new');
      assert.deepEqual(await hostsReq('PATCH', `/api/admin/hosts/${rack3}`, { pool: null }).then((r) => [r.json().pool, r.json().pool_is_default]), [serverPool, true]);
      await hostsReq('PATCH', `/api/admin/hosts/${rack3}`, { pool: 'rack3_vols' });

      // rack-2 has VMs: moving it to another pool is a 409 that changes nothing, not even the rest of the request.
      const rack2 = await byName('rack-2');
      const refused = await hostsReq('PATCH', `/api/admin/hosts/${rack2.id}`, { pool: 'elsewhere', ram_mb: 8192 });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().code, 'conflict');
      assert.equal(refused.json().details[0].field, 'pool');
      assert.match(refused.json().message, /rack-2 has \d+ VM\(s\) whose volumes are in pool/);
      const after = (await hostsReq('GET')).json().find((x: View & { ram_mb: number }) => x.name === 'rack-2');
      assert.deepEqual([after.pool, after.pool_is_default, after.ram_mb], [serverPool, true, 4096]);
      // Naming the pool it already uses moves nothing, so it is allowed.
      assert.equal((await hostsReq('PATCH', `/api/admin/hosts/${rack2.id}`, { pool: serverPool })).statusCode, 200);
      assert.equal((await hostsReq('PATCH', `/api/admin/hosts/${rack2.id}`, { pool: null })).statusCode, 200);

      // The other hosts are full: the next VM lands on rack-3, which then keeps its pool until the VM is gone.
      const vm = await createVm('p1');
      assert.equal(vm.statusCode, 201, vm.body);
      assert.equal(vm.json().host_id, rack3);
      await h.services.ops.idle();
      const whileVm = await hostsReq('PATCH', `/api/admin/hosts/${rack3}`, { pool: null });
      assert.equal(whileVm.statusCode, 409, whileVm.body);
      assert.equal((await byName('rack-3')).pool, 'rack3_vols');
      assert.equal((await h.request({ method: 'POST', url: `/api/vms/${vm.json().id}/action`, token: alice.token, body: { action: 'destroy' } })).statusCode, 202);
      await h.services.ops.idle();
      const freed = await hostsReq('PATCH', `/api/admin/hosts/${rack3}`, { pool: 'rack3-new' });
      assert.equal(freed.statusCode, 200, freed.body);
      assert.equal(freed.json().pool, 'rack3-new');
    });
  });
}
