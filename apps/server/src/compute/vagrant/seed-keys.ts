/** SSH public keys in NoCloud seeds, as the Vagrant driver adds and reads them. */

/** NoCloud meta-data with one more key under public-keys (read by cloud-init and the tiny image). */
export function withPublicKey(metaData: string, publicKey: string): string {
  const item = `  - ${JSON.stringify(publicKey)}`;
  if (metaData.includes(item)) return metaData;
  if (/^public-keys:\s*$/m.test(metaData)) return metaData.replace(/^public-keys:\s*$/m, (m) => `${m}\n${item}`);
  return `${metaData.replace(/\n*$/, '\n')}public-keys:\n${item}\n`;
}

/** The SSH public keys listed in a seed's user-data (as the tiny image reads them). */
export function authorizedKeysOf(userData: string): string[] {
  const keys = new Set<string>();
  for (const line of userData.split(/\r?\n/)) {
    const m = /^[\s-]*"?((?:ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/=]+(?: [^"]*)?)"?\s*$/.exec(line);
    if (m) keys.add(m[1]!.trim());
  }
  return [...keys];
}
