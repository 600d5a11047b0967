import type { Vm, VmStatus } from '@twarga/contract';
import type { HostRow, HostsRepository } from '../hosts/hosts.repository.js';
import type { ImageRow, ImagesRepository } from '../images/images.repository.js';
import type { SnapshotsRepository } from '../snapshots/snapshots.repository.js';
import { SIZES } from '../sizes/sizes.js';
import { doDate, openHostNames, toDoImage, toDoRegion, toDoSize, type DoImage, type DoRegion, type DoSize } from './catalog-view.js';

/** One IPv4 address of a droplet (godo NetworkV4). */
export interface DoNetworkV4 {
  ip_address: string;
  netmask: string;
  gateway: string;
  type: 'public' | 'private';
}

/**
 * A droplet as godo decodes it (droplets.go). `image`, `size`, `region` and `networks` are always
 * objects: doctl dereferences them without a nil check. ssh_port and ssh_user are ours (godo
 * ignores unknown fields): behind QEMU's user-mode networking SSH is not on port 22.
 */
export interface DoDroplet {
  id: number;
  name: string;
  memory: number;
  vcpus: number;
  disk: number;
  locked: boolean;
  status: 'new' | 'active' | 'off' | 'archive';
  created_at: string;
  features: string[];
  backup_ids: number[];
  snapshot_ids: number[];
  next_backup_window: null;
  image: DoImage;
  size: DoSize;
  size_slug: string;
  region: DoRegion;
  networks: { v4: DoNetworkV4[]; v6: never[] };
  kernel: null;
  tags: string[];
  volume_ids: string[];
  vpc_uuid: string;
  ssh_port: number | null;
  ssh_user: string;
}

/** Our VM statuses as DO's four: being made → new; up (or going down) → active; down → off; gone → archive. */
export function doStatus(status: VmStatus): DoDroplet['status'] {
  switch (status) {
    case 'pending':
    case 'provisioning': return 'new';
    case 'running':
    case 'rebooting':
    case 'paused':
    case 'stopping': return 'active';
    case 'stopped':
    case 'error': return 'off';
    case 'destroying':
    case 'destroyed': return 'archive';
  }
}

/** QEMU user-mode networking (the qemu driver) always gives the guest this address, mask and gateway. */
const QEMU_USER_NET = { ip: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2' };

/**
 * The droplet's IPv4 entries: `public` is where its users reach it (its SSH host) once it has an
 * SSH endpoint, `private` the guest's own address once its driver reports one. A mask or gateway
 * we do not know (libvirt and Vagrant guests) is an empty string rather than a guess.
 */
export function networksV4(vm: Vm): DoNetworkV4[] {
  const v4: DoNetworkV4[] = [];
  if (vm.ssh_port !== null && vm.status !== 'destroyed') v4.push({ ip_address: vm.ssh_host, netmask: '', gateway: '', type: 'public' });
  if (vm.ip_address) {
    const qemu = vm.ip_address === QEMU_USER_NET.ip && vm.driver === 'qemu';
    v4.push({ ip_address: vm.ip_address, netmask: qemu ? QEMU_USER_NET.netmask : '', gateway: qemu ? QEMU_USER_NET.gateway : '', type: 'private' });
  }
  return v4;
}

/** What a droplet's sub-objects are made from: the catalog, the hosts and the owners' snapshots, read once per request. */
export interface DropletCatalog {
  images: ReadonlyMap<string, ImageRow>;
  hosts: readonly HostRow[];
  /** Available snapshot ids by VM id. */
  snapshots: ReadonlyMap<number, number[]>;
  /** Hosts that take new VMs: the regions of every size and available image. */
  openRegions: string[];
  /** Sub-objects built for this answer: a list of droplets shares a few images, sizes and regions. */
  built: Map<string, DoImage | DoSize | DoRegion>;
}

function once<T extends DoImage | DoSize | DoRegion>(catalog: DropletCatalog, key: string, build: () => T): T {
  let value = catalog.built.get(key) as T | undefined;
  if (!value) catalog.built.set(key, (value = build()));
  return value;
}

export async function loadCatalog(
  deps: { imagesRepo: Pick<ImagesRepository, 'list'>; hostsRepo: Pick<HostsRepository, 'list'>; snapshotsRepo: Pick<SnapshotsRepository, 'listForUser'> },
  ownerIds: readonly number[] = [],
): Promise<DropletCatalog> {
  const [images, hosts, snapshotRows] = await Promise.all([
    deps.imagesRepo.list(),
    deps.hostsRepo.list(),
    Promise.all([...new Set(ownerIds)].map((id) => deps.snapshotsRepo.listForUser(id))),
  ]);
  const snapshots = new Map<number, number[]>();
  for (const snap of snapshotRows.flat().sort((a, b) => a.id - b.id)) {
    if (snap.vm_id === null || snap.status !== 'available') continue;
    snapshots.set(snap.vm_id, [...(snapshots.get(snap.vm_id) ?? []), snap.id]);
  }
  return { images: new Map(images.map((i) => [i.slug, i])), hosts, snapshots, openRegions: openHostNames(hosts), built: new Map() };
}

/** The region of a VM's host (a VM whose host row is gone keeps a region object: doctl needs one). */
export function regionOf(hostId: number | null, catalog: DropletCatalog): DoRegion {
  return once(catalog, `region:${hostId}`, () => {
    const host = catalog.hosts.find((h) => h.id === hostId);
    return host ? toDoRegion(host, SIZES.map((s) => s.slug)) : { slug: 'unknown', name: 'unknown', sizes: [], available: false, features: [] };
  });
}

/**
 * The VM's size: its catalog size, or, for a custom RAM/vCPU/disk shape, a size object describing
 * exactly that shape (slug `custom`: no catalog size has it).
 */
function sizeOf(vm: Vm, catalog: DropletCatalog): DoSize {
  const regions = catalog.openRegions;
  const named = SIZES.find((s) => s.slug === vm.size);
  if (named) return once(catalog, `size:${named.slug}`, () => toDoSize(named, regions));
  return toDoSize({ slug: 'custom', memory: vm.ram, vcpus: vm.cpu, disk: vm.disk, price_hourly: vm.price_hourly, description: 'Custom shape' }, regions);
}

/** The VM's image; one removed from the catalog since keeps a minimal object with its slug. */
function imageOf(vm: Vm, catalog: DropletCatalog): DoImage {
  const row = catalog.images.get(vm.image);
  if (row) return once(catalog, `image:${row.slug}`, () => toDoImage(row, catalog.openRegions));
  return {
    id: 0, name: vm.image, type: 'base', distribution: vm.os_type, slug: vm.image, public: false, regions: [], created_at: doDate(vm.created_at),
    min_disk_size: 0, size_gigabytes: 0, description: 'No longer in the catalog', tags: [], status: 'retired', error_message: '',
  };
}

/** A VM in DO's droplet shape. */
export function toDroplet(vm: Vm, catalog: DropletCatalog): DoDroplet {
  const size = sizeOf(vm, catalog);
  return {
    id: vm.id,
    name: vm.name,
    memory: vm.ram,
    vcpus: vm.cpu,
    disk: vm.disk,
    locked: vm.locked,
    status: doStatus(vm.status),
    created_at: doDate(vm.created_at),
    features: [],
    backup_ids: [],
    snapshot_ids: catalog.snapshots.get(vm.id) ?? [],
    next_backup_window: null,
    image: imageOf(vm, catalog),
    size,
    size_slug: size.slug,
    region: regionOf(vm.host_id, catalog),
    networks: { v4: networksV4(vm), v6: [] },
    kernel: null,
    tags: vm.tags ?? [],
    volume_ids: [],
    vpc_uuid: '',
    ssh_port: vm.ssh_port,
    ssh_user: vm.ssh_user,
  };
}
