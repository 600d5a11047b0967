import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { run } from '../infra/process.js';

export interface SeedInput {
  instanceId: string;
  hostname: string;
  sshAuthorizedKeys: string[];
  /** The user's own cloud-init user-data, if any. Ours is merged in front of it. */
  userData?: string;
}

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * YAML by a library, never by string pasting: a value with a newline, `: ` or `#` stays one value.
 * Strings are double-quoted on one line (lineWidth 0: no folding) because the tiny image and the
 * Vagrant driver read hostname and keys line by line and strip double quotes only.
 */
const toYaml = (doc: unknown) => stringify(doc, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 });

/** The MIME type cloud-init gives a user-data part, by its first line (cloud-init's own table). */
const PART_TYPES: [prefix: string, type: string][] = [
  ['#cloud-config-archive', 'text/cloud-config-archive'],
  ['#cloud-config-jsonp', 'text/cloud-config-jsonp'],
  ['#cloud-config', 'text/cloud-config'],
  ['#cloud-boothook', 'text/cloud-boothook'],
  ['#include-once', 'text/x-include-once-url'],
  ['#include', 'text/x-include-url'],
  ['#part-handler', 'text/part-handler'],
  ['## template: jinja', 'text/jinja2'],
  ['#!', 'text/x-shellscript'],
];
const partType = (userData: string) => PART_TYPES.find(([prefix]) => userData.startsWith(prefix))?.[1] ?? 'text/cloud-config';

/**
 * A MIME boundary that occurs in none of the parts, so no part can end itself early and smuggle
 * in a part of its own. Random, so it cannot be guessed in advance either.
 */
export function mimeBoundary(parts: string[], random: () => string = () => randomBytes(16).toString('hex')): string {
  for (;;) {
    const boundary = `twarga-${random()}`;
    if (!parts.some((p) => p.includes(boundary))) return boundary;
  }
}

/** NoCloud meta-data and user-data for a VM: hostname, root's SSH keys, the user's extra config. */
export function seedFiles(input: SeedInput): { metaData: string; userData: string } {
  // Names are validated where VMs are created; this is the last line before a guest reads it.
  if (!HOSTNAME.test(input.hostname)) throw new Error(`invalid hostname for the seed: ${JSON.stringify(input.hostname)}`);
  const metaData = toYaml({ 'instance-id': input.instanceId, 'local-hostname': input.hostname });
  const ours = '#cloud-config\n' + toYaml({ hostname: input.hostname, disable_root: false, ssh_authorized_keys: input.sshAuthorizedKeys });
  if (!input.userData?.trim()) return { metaData, userData: ours };
  // A user's own user-data travels as a second part of a MIME multipart document.
  const boundary = mimeBoundary([ours, input.userData]);
  const userData = [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    `--${boundary}`,
    'Content-Type: text/cloud-config; charset="utf-8"',
    '',
    ours,
    `--${boundary}`,
    `Content-Type: ${partType(input.userData)}; charset="utf-8"`,
    '',
    input.userData,
    `--${boundary}--`,
    '',
  ].join('\n');
  return { metaData, userData };
}

/**
 * Every seed ISO is exactly this big (zero-padded): the guest's idea of the seed device's size is
 * part of a warm snapshot's saved state, and an instant VM's own seed must match it. User-data is
 * at most 64 KiB (USER_DATA_MAX_BYTES), far below.
 */
export const SEED_ISO_BYTES = 1024 * 1024;

/** Writes a NoCloud seed ISO (volume label cidata) with genisoimage, padded to SEED_ISO_BYTES; vendor-data when given. */
export async function writeSeedIso(target: string, files: { metaData: string; userData: string; vendorData?: string }): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'twarga-seed-'));
  try {
    await writeFile(path.join(dir, 'meta-data'), files.metaData);
    await writeFile(path.join(dir, 'user-data'), files.userData);
    const vendor = files.vendorData === undefined ? [] : [path.join(dir, 'vendor-data')];
    if (files.vendorData !== undefined) await writeFile(vendor[0]!, files.vendorData);
    await run('genisoimage', ['-quiet', '-output', target, '-volid', 'cidata', '-joliet', '-rock', path.join(dir, 'user-data'), path.join(dir, 'meta-data'), ...vendor], {
      timeoutMs: 30_000,
    });
    const size = (await stat(target)).size;
    if (size > SEED_ISO_BYTES) throw new Error(`the seed ISO is ${size} bytes, more than the fixed ${SEED_ISO_BYTES}`);
    await truncate(target, SEED_ISO_BYTES);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
