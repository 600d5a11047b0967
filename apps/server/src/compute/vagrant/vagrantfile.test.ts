import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BOX_TEMPLATES, boxForOsType, DEFAULT_MANAGEMENT_NETWORK, domainName, managementNetworkXml, parseCidr, renderVagrantfile, rubyString, seedVolumeName, templateFor, withBootLogConsole, type VagrantfileInput } from './vagrantfile.js';

const tiny: VagrantfileInput = {
  instanceId: 'vm-7',
  box: 'twarga/tiny',
  provider: 'libvirt',
  hostname: 'web-1',
  memoryMb: 256,
  vcpus: 1,
  diskGb: 2,
  kernelBoot: { kernel: '/images/tiny/vmlinuz', initrd: '/images/tiny/initrd.img', cmdline: 'console=ttyS0 panic=-1' },
  sshPrivateKeyPath: '/data/vagrant/vm-7/ssh_key',
  seed: { isoPath: '/data/vagrant/vm-7/seed.iso', libvirtVolume: 'twarga-vagrant-vm-7-seed.iso' },
  libvirt: { uri: 'qemu:///system', serialLog: '/data/vagrant/vm-7/serial.log' },
};

const cloud: VagrantfileInput = {
  instanceId: 'vm-8',
  box: 'ubuntu/jammy64',
  provider: 'libvirt',
  hostname: 'db-1',
  memoryMb: 2048,
  vcpus: 2,
  diskGb: 20,
  sshPrivateKeyPath: '/data/vagrant/vm-8/ssh_key',
  authorizedKeys: ['ssh-ed25519 AAAAC3Nza alice@laptop'],
  seed: { isoPath: '/data/vagrant/vm-8/seed.iso', libvirtVolume: 'twarga-vagrant-vm-8-seed.iso' },
};

describe('rubyString', () => {
  test('quotes and escapes backslashes and single quotes', () => {
    assert.equal(rubyString('plain'), "'plain'");
    assert.equal(rubyString("it's"), "'it\\'s'");
    assert.equal(rubyString('a\\b'), "'a\\\\b'");
    // A trailing backslash must not escape the closing quote.
    assert.equal(rubyString('end\\'), "'end\\\\'");
    // #{…} is not interpolated in single-quoted Ruby strings: left as is.
    assert.equal(rubyString('#{`id`}'), "'#{`id`}'");
  });

  test('refuses NUL bytes', () => {
    assert.throws(() => rubyString('a\0b'), /NUL/);
  });
});

describe('box templates', () => {
  test('cover the seed boxes and the tiny box', () => {
    for (const box of ['ubuntu/focal64', 'ubuntu/jammy64', 'debian/bookworm64', 'centos/stream8', 'twarga/tiny', 'twarga/debian-12']) assert.ok(BOX_TEMPLATES[box], box);
    assert.deepEqual(BOX_TEMPLATES['twarga/debian-12'], { kind: 'cloud', sshUser: 'debian', providers: ['libvirt'], cloudInit: true, description: 'Debian 12 (bookworm), built here from Debian packages' });
    assert.equal(templateFor('my/tiny', 'my/tiny').kind, 'tiny');
    assert.equal(templateFor('generic/alpine318').kind, 'cloud');
  });

  test('os_type → box', () => {
    assert.equal(boxForOsType('tiny', 'twarga/tiny'), 'twarga/tiny');
    assert.equal(boxForOsType('ubuntu', 'twarga/tiny'), 'ubuntu/jammy64');
    assert.equal(boxForOsType('ubuntu/focal64', 'twarga/tiny'), 'ubuntu/focal64');
    assert.equal(boxForOsType('centos', 'twarga/tiny'), 'centos/stream8');
    // Debian, and the seed's Debian box, are the image built here (the seed's box cannot be downloaded offline).
    assert.equal(boxForOsType('debian', 'twarga/tiny'), 'twarga/debian-12');
    assert.equal(boxForOsType('debian/bookworm64', 'twarga/tiny'), 'twarga/debian-12');
    assert.equal(boxForOsType('twarga/debian-12', 'twarga/tiny'), 'twarga/debian-12');
    for (const key of ['constructor', '__proto__', 'toString']) assert.equal(boxForOsType(key, 'twarga/tiny'), undefined, key);
    assert.equal(boxForOsType('windows', 'twarga/tiny'), undefined);
    assert.equal(boxForOsType(undefined, 'twarga/tiny'), undefined);
  });

  test('stable names derived from the instance id', () => {
    assert.equal(domainName('vm-7'), 'twarga-vagrant-vm-7');
    assert.equal(domainName('vm-7', 'x-'), 'x-vm-7');
    assert.equal(seedVolumeName('vm-7'), 'twarga-vagrant-vm-7-seed.iso');
    assert.throws(() => domainName('../vm-7'), /invalid instance id/);
  });
});

describe('renderVagrantfile: twarga/tiny on libvirt', () => {
  const text = renderVagrantfile(tiny);

  test('is deterministic', () => {
    assert.equal(renderVagrantfile(tiny), text);
  });

  test('has the guest agent channel the tiny image listens on', () => {
    assert.ok(text.includes("lv.channel :type => 'unix', :target_name => 'org.qemu.guest_agent.0', :target_type => 'virtio'"), text);
  });

  test('machine, box and the settings the tiny image needs', () => {
    for (const line of [
      "config.vm.define 'vm-7' do |m|",
      "m.vm.box = 'twarga/tiny'",
      'm.vm.box_check_update = false',
      "m.vm.synced_folder '.', '/vagrant', disabled: true",
      'm.ssh.insert_key = false',
      "m.ssh.username = 'root'",
      "m.ssh.shell = 'sh'",
      "m.ssh.sudo_command = '%c'",
      'm.vm.guest = :twarga_tiny',
      "m.ssh.private_key_path = ['/data/vagrant/vm-7/ssh_key']",
      "m.vm.graceful_halt_timeout = Integer(ENV.fetch('TWARGA_HALT_TIMEOUT', '60'))",
    ]) {
      assert.ok(text.includes(line), line);
    }
  });

  test('libvirt: software emulation, resources, direct kernel boot, seed as a virtio disk, a console PTY and a boot log', () => {
    for (const line of [
      'm.vm.provider :libvirt do |lv|',
      "lv.uri = 'qemu:///system'",
      "lv.driver = 'qemu'",
      "lv.cpu_mode = 'custom'",
      "lv.default_prefix = 'twarga-vagrant-'",
      'lv.memory = 256',
      'lv.cpus = 1',
      'lv.machine_virtual_size = 2',
      "lv.kernel = '/images/tiny/vmlinuz'",
      "lv.initrd = '/images/tiny/initrd.img'",
      // The kernel prints to ttyS1 (the log) too; ttyS0, last, stays /dev/console.
      "lv.cmd_line = 'console=ttyS1 console=ttyS0 panic=-1'",
      "lv.storage :file, path: 'twarga-vagrant-vm-7-seed.iso', type: 'raw', bus: 'virtio', allow_existing: true",
      "lv.serial type: 'pty'\n      lv.serial type: 'file', source: { path: '/data/vagrant/vm-7/serial.log' }",
      // Our own management network (isolated ports), kept when a machine is destroyed.
      "lv.management_network_name = 'twarga-vagrant'",
      "lv.management_network_address = '192.168.126.0/24'",
      'lv.management_network_keep = true',
    ]) {
      assert.ok(text.includes(line), line);
    }
    assert.doesNotMatch(text, /virtualbox/);
  });

  test('a chosen management network; a bad name or subnet is refused', () => {
    const other = renderVagrantfile({ ...tiny, libvirt: { ...tiny.libvirt, managementNetwork: { name: 'tenants', cidr: '10.77.0.0/16' } } });
    assert.ok(other.includes("lv.management_network_name = 'tenants'") && other.includes("lv.management_network_address = '10.77.0.0/16'"));
    assert.throws(() => renderVagrantfile({ ...tiny, libvirt: { managementNetwork: { name: "x'; `id`", cidr: '10.0.0.0/24' } } }), /invalid management network name/);
    assert.throws(() => renderVagrantfile({ ...tiny, libvirt: { managementNetwork: { name: 'x', cidr: '10.0.0.5/24' } } }), /not the subnet's first address/);
  });

  test('the tiny guest halts with poweroff (the image has no shutdown)', () => {
    assert.match(text, /guest\(:twarga_tiny, :linux\)/);
    assert.match(text, /guest_capability\(:twarga_tiny, :halt\)/);
    assert.match(text, /machine\.communicate\.execute\('poweroff'\)/);
  });

  test('kvm uses the host CPU', () => {
    const kvm = renderVagrantfile({ ...tiny, libvirt: { ...tiny.libvirt, domainType: 'kvm' } });
    assert.match(kvm, /lv\.driver = 'kvm'/);
    assert.match(kvm, /lv\.cpu_mode = 'host-passthrough'/);
  });

  test('needs a kernel and libvirt', () => {
    assert.throws(() => renderVagrantfile({ ...tiny, kernelBoot: undefined }), /kernelBoot is required/);
    assert.throws(() => renderVagrantfile({ ...tiny, provider: 'virtualbox' }), /does not run on the virtualbox provider/);
  });

  test('hostile values stay inside their string literals', () => {
    const evil = "/x'; system('touch /tmp/pwned'); '";
    const out = renderVagrantfile({ ...tiny, kernelBoot: { ...tiny.kernelBoot!, cmdline: evil, kernel: 'a\\' }, libvirt: { uri: "qemu:///system'\n`id`" } });
    assert.ok(out.includes(`lv.cmd_line = '/x\\'; system(\\'touch /tmp/pwned\\'); \\''`));
    assert.ok(out.includes("lv.kernel = 'a\\\\'"));
    assert.ok(out.includes("lv.uri = 'qemu:///system\\'\n`id`'"));
    assert.throws(() => renderVagrantfile({ ...tiny, memoryMb: 1.5 }), /memoryMb/);
    assert.throws(() => renderVagrantfile({ ...tiny, vcpus: -1 }), /vcpus/);
    assert.throws(() => renderVagrantfile({ ...tiny, instanceId: "vm-1'" }), /invalid instance id/);
  });
});

describe('renderVagrantfile: cloud boxes', () => {
  test('libvirt: vagrant user, hostname, keys provisioner, resources, seed disk', () => {
    const text = renderVagrantfile(cloud);
    for (const line of [
      "m.vm.box = 'ubuntu/jammy64'",
      "m.ssh.username = 'vagrant'",
      'm.vm.guest = :linux',
      "m.vm.hostname = 'db-1'",
      'm.ssh.insert_key = false',
      "m.vm.synced_folder '.', '/vagrant', disabled: true",
      "m.ssh.private_key_path = ['/data/vagrant/vm-8/ssh_key', File.join(Vagrant.source_root.to_s, 'keys', 'vagrant')]",
      "m.vm.provision 'twarga-keys', type: 'shell', privileged: true, env: { 'TWARGA_KEYS' => 'ssh-ed25519 AAAAC3Nza alice@laptop' }",
      'lv.memory = 2048',
      'lv.cpus = 2',
      'lv.machine_virtual_size = 20',
      "lv.storage :file, path: 'twarga-vagrant-vm-8-seed.iso', type: 'raw', bus: 'virtio', allow_existing: true",
    ]) {
      assert.ok(text.includes(line), line);
    }
    assert.doesNotMatch(text, /lv\.kernel/);
    assert.doesNotMatch(text, /twarga_tiny/);
  });

  test('VirtualBox: memory, CPUs, a primary disk of the requested size, a stable VM name', () => {
    const text = renderVagrantfile({ ...cloud, provider: 'virtualbox', seed: { isoPath: '/s.iso' } });
    for (const line of ['m.vm.provider :virtualbox do |vb|', "vb.name = 'twarga-vagrant-vm-8'", 'vb.memory = 2048', 'vb.cpus = 2', "m.vm.disk :disk, name: 'root', size: '20GB', primary: true"]) {
      assert.ok(text.includes(line), line);
    }
    assert.doesNotMatch(text, /:libvirt/);
    assert.match(text, /TODO\(virtualbox\)/);
  });

  test('twarga/debian-12: logs in as debian, boots its own disk, libvirt only', () => {
    const text = renderVagrantfile({ ...cloud, box: 'twarga/debian-12', diskGb: 2 });
    for (const line of ["m.vm.box = 'twarga/debian-12'", "m.ssh.username = 'debian'", "m.vm.hostname = 'db-1'", 'lv.machine_virtual_size = 2', "lv.storage :file, path: 'twarga-vagrant-vm-8-seed.iso', type: 'raw', bus: 'virtio', allow_existing: true"]) {
      assert.ok(text.includes(line), line);
    }
    assert.doesNotMatch(text, /lv\.kernel|twarga_tiny/);
    assert.throws(() => renderVagrantfile({ ...cloud, box: 'twarga/debian-12', provider: 'virtualbox' }), /box twarga\/debian-12 does not run on the virtualbox provider/);
  });

  test('keys with quotes cannot break out of the provisioner', () => {
    const text = renderVagrantfile({ ...cloud, authorizedKeys: ["ssh-ed25519 AAAA x'; rm -rf / #"] });
    assert.ok(text.includes("'TWARGA_KEYS' => 'ssh-ed25519 AAAA x\\'; rm -rf / #'"));
  });
});

test('the boot log console goes before ttyS0 only when the kernel uses ttyS0 and not ttyS1 already', () => {
  assert.equal(withBootLogConsole('console=ttyS0 panic=-1'), 'console=ttyS1 console=ttyS0 panic=-1');
  assert.equal(withBootLogConsole('console=ttyS0,115200n8'), 'console=ttyS1 console=ttyS0,115200n8');
  assert.equal(withBootLogConsole('console=tty0 quiet'), 'console=tty0 quiet');
  assert.equal(withBootLogConsole('console=ttyS10'), 'console=ttyS10');
  assert.equal(withBootLogConsole('console=ttyS1 console=ttyS0'), 'console=ttyS1 console=ttyS0');
});

describe('management network', () => {
  test('its XML isolates every guest port, with NAT and DHCP over the subnet', () => {
    assert.equal(
      managementNetworkXml(DEFAULT_MANAGEMENT_NETWORK),
      [
        '<network>',
        '  <name>twarga-vagrant</name>',
        "  <forward mode='nat'/>",
        "  <bridge stp='on' delay='0'/>",
        "  <port isolated='yes'/>",
        "  <ip address='192.168.126.1' netmask='255.255.255.0'>",
        '    <dhcp>',
        "      <range start='192.168.126.2' end='192.168.126.254'/>",
        '    </dhcp>',
        '  </ip>',
        '</network>',
        '',
      ].join('\n'),
    );
  });

  test('parseCidr: gateway, mask and DHCP range; nonsense is refused', () => {
    assert.deepEqual(parseCidr('10.77.0.0/16'), { network: '10.77.0.0', netmask: '255.255.0.0', gateway: '10.77.0.1', dhcpStart: '10.77.0.2', dhcpEnd: '10.77.255.254', prefix: 16 });
    assert.deepEqual(parseCidr('172.20.5.8/29'), { network: '172.20.5.8', netmask: '255.255.255.248', gateway: '172.20.5.9', dhcpStart: '172.20.5.10', dhcpEnd: '172.20.5.14', prefix: 29 });
    for (const bad of ['192.168.126.0', '192.168.126.0/8', '192.168.126.0/30', '300.1.1.0/24', '10.0.0.0/24\n', 'fe80::/64']) assert.throws(() => parseCidr(bad), /invalid management network/, bad);
    assert.throws(() => managementNetworkXml({ name: '<x>', cidr: '10.0.0.0/24' }), /invalid management network name/);
  });
});
