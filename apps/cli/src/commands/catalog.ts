import type { Command } from 'commander';
import type { Registrar } from '../program.js';

export function registerCatalog(program: Command, r: Registrar): void {
  program
    .command('images')
    .description('images VMs are created from')
    .command('list')
    .alias('ls')
    .description('list images')
    .action(
      r.action(async (ctx) => {
        ctx.out.table(await ctx.client().images.list(), [
          { header: 'slug', get: (i) => i.slug },
          { header: 'name', get: (i) => i.name },
          { header: 'status', get: (i) => (i.status === 'downloading' && i.progress !== null ? `downloading ${Math.round(i.progress * 100)}%` : i.status) },
          { header: 'distribution', get: (i) => `${i.distribution} ${i.version}` },
          { header: 'min disk', get: (i) => `${i.min_disk} GiB` },
          { header: 'user', get: (i) => i.ssh_user },
        ]);
      }),
    );
  program
    .command('sizes')
    .description('VM sizes and prices')
    .command('list')
    .alias('ls')
    .description('list sizes')
    .action(
      r.action(async (ctx) => {
        ctx.out.table(await ctx.client().sizes.list(), [
          { header: 'slug', get: (s) => s.slug },
          { header: 'vcpus', get: (s) => s.vcpus },
          { header: 'memory', get: (s) => `${s.memory} MiB` },
          { header: 'disk', get: (s) => `${s.disk} GiB` },
          { header: 'credits/hour', get: (s) => s.price_hourly },
          { header: 'description', get: (s) => s.description },
        ]);
      }),
    );
}
