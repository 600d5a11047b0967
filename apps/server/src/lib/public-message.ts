/** Where a remote compute host is, as libvirt, libssh and OpenSSH name it in their errors. */
const HOST_ADDRESSES: [RegExp, string][] = [
  // qemu+ssh://root@10.0.0.5/system, qemu+tcp://rack-2:16509/system
  [/\b(?:qemu|libvirt)(?:\+[a-z]+)?:\/\/[^\s'"|,)]*/g, '<compute host>'],
  // virsh: unable to connect to server at '10.0.0.5:16509'
  [/(server at ')[^']*(')/g, '$1<compute host>$2'],
  // ssh: connect to host 10.0.0.5 port 22: …; libssh: Failed to connect to 10.0.0.5 port 22
  [/(connect to (?:host )?)\S+( port \d+)/gi, '$1<compute host>$2'],
];

/**
 * A driver's failure as the VM's owner may see it: the same reason without the server's paths
 * or the address of the compute host it runs on.
 * "EPERM: operation not permitted, open '/var/lib/twarga/vms/vm-44/disk.qcow2'" becomes
 * "EPERM: operation not permitted, open 'disk.qcow2'": the file's name still says which file,
 * the data directory's layout stays on the server. Admins get the full text (log, event details).
 */
export function publicMessage(message: string): string {
  const hidden = HOST_ADDRESSES.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
  // An absolute path: starts at a '/' that follows no word, path or URL character (so
  // http://host/x and 1/2 are left alone), and runs over path characters.
  return hidden.replace(/(?<![\w.:/~-])\/(?:[\w.@+,=~-]+\/)*([\w.@+,=~-]*)/g, (_path, base: string) => base || '/');
}
