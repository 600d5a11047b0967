import type { ApiToken } from '@twarga/contract';
import { Option, type Command } from 'commander';
import { CliError, EXIT } from '../exit-codes.js';
import type { Registrar } from '../program.js';

export function registerTokens(program: Command, r: Registrar): void {
  const tokens = program.command('tokens').description('personal API tokens');
  tokens
    .command('list')
    .alias('ls')
    .description('list your API tokens (secrets are never shown again)')
    .action(
      r.action(async (ctx) => {
        ctx.out.table(await ctx.client().account.tokens.list(), [
          { header: 'id', get: (t) => t.id },
          { header: 'name', get: (t) => t.name },
          { header: 'scope', get: (t) => t.scope },
          { header: 'prefix', get: (t) => t.prefix },
          { header: 'created', get: (t) => t.created_at },
          { header: 'expires', get: (t) => t.expires_at ?? 'never' },
          { header: 'last used', get: (t) => t.last_used_at },
        ]);
      }),
    );
  tokens
    .command('create <name>')
    .description('create an API token; its secret is printed once')
    .addOption(new Option('--scope <scope>', 'what it may do').choices(['read', 'read-write']).default('read-write'))
    .option('--expires-in-days <days>', 'expire after this many days (default: never)')
    .action(
      r.action(async (ctx, name: string, o: { scope: 'read' | 'read-write'; expiresInDays?: string }) => {
        if (o.expiresInDays !== undefined && !/^\d+$/.test(o.expiresInDays)) throw new CliError('--expires-in-days must be a whole number', EXIT.usage, 'usage');
        const created = await ctx.client().account.tokens.create({
          name,
          scope: o.scope,
          ...(o.expiresInDays ? { expires_in_days: Number(o.expiresInDays) } : {}),
        });
        ctx.out.result(created, () => `Created token ${created.name} (id ${created.id}, ${created.scope}). Copy it now, it is not shown again:\n${created.token}`);
      }),
    );
  tokens
    .command('revoke <token>')
    .description('revoke a token (by id or name)')
    .action(
      r.action(async (ctx, ref: string) => {
        const client = ctx.client();
        const list = await client.account.tokens.list();
        const matches: ApiToken[] = list.filter((t) => t.name === ref);
        const byId = /^\d+$/.test(ref) ? list.find((t) => t.id === Number(ref)) : undefined;
        if (matches.length > 1 && !byId) throw new CliError(`${matches.length} tokens are named "${ref}": revoke by id`, EXIT.usage, 'ambiguous');
        const token = byId ?? matches[0];
        if (!token) throw new CliError(`no token "${ref}"`, EXIT.notFound, 'not_found');
        await client.account.tokens.revoke(token.id);
        ctx.out.result({ revoked: token.id }, () => `Revoked token ${token.name} (id ${token.id}).`);
      }),
    );
}
