import type { Command } from 'commander';
import type { CommandContext } from '../client.js';
import { saveConfig } from '../config.js';
import { CliError, EXIT } from '../exit-codes.js';
import type { Registrar } from '../program.js';

function mustExist(ctx: CommandContext, name: string) {
  const found = ctx.config().contexts[name];
  if (!found) throw new CliError(`no context named "${name}" (see: twarga context list)`, EXIT.notFound, 'not_found');
  return found;
}

export function registerContext(program: Command, r: Registrar): void {
  const context = program.command('context').description('saved servers and logins');
  context
    .command('list')
    .description('list saved contexts (* = current)')
    .action(
      r.action((ctx) => {
        const config = ctx.config();
        // Tokens never reach the output, not even in JSON.
        const rows = Object.entries(config.contexts).map(([name, c]) => ({ name, url: c.url, username: c.username ?? null, current: name === config.current }));
        ctx.out.table(rows, [
          { header: '', get: (c) => (c.current ? '*' : ' ') },
          { header: 'name', get: (c) => c.name },
          { header: 'url', get: (c) => c.url },
          { header: 'user', get: (c) => c.username },
        ]);
      }),
    );
  context
    .command('use <name>')
    .description('make a context the current one')
    .action(
      r.action((ctx, name: string) => {
        mustExist(ctx, name);
        const config = ctx.config();
        config.current = name;
        saveConfig(ctx.configPath, config);
        ctx.out.result({ current: name }, () => `Now using context "${name}".`);
      }),
    );
  context
    .command('remove <name>')
    .description('forget a context (its token stays valid: use logout to revoke it)')
    .action(
      r.action((ctx, name: string) => {
        mustExist(ctx, name);
        const config = ctx.config();
        delete config.contexts[name];
        if (config.current === name) config.current = undefined;
        saveConfig(ctx.configPath, config);
        ctx.out.result({ removed: name }, () => `Removed context "${name}".`);
      }),
    );
}
