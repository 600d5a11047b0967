import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveKey } from '../client.js';
import { CliError, EXIT } from '../exit-codes.js';
import type { Registrar } from '../program.js';

export function registerKeys(program: Command, r: Registrar): void {
  const keys = program.command('keys').description('your SSH public keys (installed into new VMs)');
  keys
    .command('list')
    .alias('ls')
    .description('list your SSH keys')
    .action(
      r.action(async (ctx) => {
        ctx.out.table(await ctx.client().account.keys.list(), [
          { header: 'id', get: (k) => k.id },
          { header: 'name', get: (k) => k.name },
          { header: 'type', get: (k) => `${k.key_type} ${k.bits}` },
          { header: 'fingerprint', get: (k) => k.fingerprint },
          { header: 'created', get: (k) => k.created_at },
        ]);
      }),
    );
  keys
    .command('add <name> <file>')
    .description('add a public key from a file such as ~/.ssh/id_ed25519.pub (- for stdin)')
    .action(
      r.action(async (ctx, name: string, file: string) => {
        const publicKey = readFileSync(file === '-' ? 0 : file, 'utf8').trim();
        if (/PRIVATE KEY/.test(publicKey)) throw new CliError(`${file} is a private key: give the .pub file`, EXIT.usage, 'usage');
        const key = await ctx.client().account.keys.create({ name, public_key: publicKey });
        ctx.out.result(key, () => `Added key ${key.name} (id ${key.id}, ${key.fingerprint}).`);
      }),
    );
  keys
    .command('remove <key>')
    .alias('rm')
    .description('remove a key (by id, name or fingerprint)')
    .action(
      r.action(async (ctx, ref: string) => {
        const client = ctx.client();
        const key = await resolveKey(client, ref);
        await client.account.keys.remove(key.id);
        ctx.out.result({ removed: key.id }, () => `Removed key ${key.name} (id ${key.id}).`);
      }),
    );
}
