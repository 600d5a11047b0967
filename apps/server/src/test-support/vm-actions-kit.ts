import assert from 'node:assert/strict';
import type { ComputeDriver, InstanceSpec, InstantStartOutcome, ResizeTarget } from '../compute/driver.js';
import { FakeDriver } from './fake-driver.js';
import type { Harness } from './harness.js';

/** Drivers and request helpers shared by the VM actions' medium tests (modules/vms). */

export const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';

/** The fake driver (it has resize, rebuild and snapshots), recording what resize and rebuild were given. */
export class AbleDriver extends FakeDriver {
  readonly resized: { id: string; to: ResizeTarget }[] = [];
  readonly rebuilt: InstanceSpec[] = [];
  override async resize(id: string, to: ResizeTarget) {
    await super.resize(id, to);
    this.resized.push({ id, to });
  }
  override async rebuild(spec: InstanceSpec) {
    await super.rebuild(spec);
    this.rebuilt.push(spec);
  }
}

/** A driver with only the base contract (as the libvirt or Vagrant drivers may be): no resize, no rebuild. */
export function baseOnly(fake: FakeDriver): ComputeDriver {
  return {
    info: () => fake.info(), create: (spec) => fake.create(spec), start: (id) => fake.start(id), stop: (id) => fake.stop(id), reboot: (id) => fake.reboot(id),
    destroy: (id) => fake.destroy(id), inspect: (id) => fake.inspect(id), list: () => fake.list(), writeInfo: () => fake.writeInfo(),
  };
}

/** And instant starts: answers what the test sets in `instant`, records warm-ups. */
export class InstantDriver extends AbleDriver {
  instant: InstantStartOutcome = { started: false, reason: 'no warm snapshot of tiny at 1024 MB / 1 vCPU yet' };
  readonly warmed: InstanceSpec[] = [];
  async startInstant(spec: InstanceSpec): Promise<InstantStartOutcome> {
    this.calls.push(`startInstant ${spec.id}`);
    if (this.instant.started) this.instances.set(spec.id, { spec, state: 'running' });
    return this.instant;
  }
  prepareWarm(spec: InstanceSpec): void {
    this.warmed.push(spec);
  }
  /** The QEMU driver's record makes the instance's directory: recorded, to see it never comes before the start. */
  override async writeInfo(id?: string) {
    this.calls.push(`writeInfo ${id}`);
  }
}

export type User = { id: number; token: string };

export function helpers(h: () => Harness) {
  const settle = () => h().services.ops.idle();
  const act = (id: number, body: Record<string, unknown>, token: string) => h().request({ method: 'POST', url: `/api/vms/${id}/action`, token, body });
  const getVm = async (id: number, token: string) => (await h().request({ method: 'GET', url: `/api/vms/${id}`, token })).json();
  const log = async (actionId: number, token: string) => ((await h().request({ method: 'GET', url: `/api/actions/${actionId}/log`, token })).json().lines as { line: string }[]).map((l) => l.line);
  const row = (id: number) => h().db.handle.db.selectFrom('vms').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  async function create(user: User, body: Record<string, unknown>) {
    const res = await h().request({ method: 'POST', url: '/api/vms', token: user.token, body });
    assert.equal(res.statusCode, 201, res.body);
    await settle();
    return res.json() as { id: number; action: { id: number }; ssh_port: number; price_hourly: number };
  }
  async function stopped(user: User, name: string, body: Record<string, unknown> = {}) {
    const vm = await create(user, { name, size: 's-1vcpu-1gb', ...body });
    assert.equal((await act(vm.id, { action: 'stop' }, user.token)).statusCode, 202);
    await settle();
    assert.equal((await getVm(vm.id, user.token)).status, 'stopped');
    return vm;
  }
  async function credit(user: User, amount: number) {
    const admin = await h().adminToken();
    const res = await h().request({ method: 'POST', url: `/api/admin/users/${user.id}/credits`, token: admin, body: { amount, reason: 'test' } });
    assert.equal(res.statusCode, 200, res.body);
  }
  return { settle, act, getVm, log, row, create, stopped, credit };
}

export const expect4xx = (res: { statusCode: number; body: string; json(): { code: string; message: string; details?: { field: string }[] } }, status: number, code: string, field?: string) => {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().code, code, res.body);
  if (field) assert.ok(res.json().details?.some((d) => d.field === field), `${field} in ${res.body}`);
};
