/**
 * A driver's failure as the VM's owner may see it: the same reason without the server's paths.
 * "EPERM: operation not permitted, open '/var/lib/twarga/vms/vm-44/disk.qcow2'" becomes
 * "EPERM: operation not permitted, open 'disk.qcow2'": the file's name still says which file,
 * the data directory's layout stays on the server. Admins get the full text (log, event details).
 */
export function publicMessage(message: string): string {
  // An absolute path: starts at a '/' that follows no word, path or URL character (so
  // http://host/x and 1/2 are left alone), and runs over path characters.
  return message.replace(/(?<![\w.:/~-])\/(?:[\w.@+,=~-]+\/)*([\w.@+,=~-]*)/g, (_path, base: string) => base || '/');
}
