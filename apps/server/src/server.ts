import { loadConfig, ConfigError } from './config/config.js';
import { makeDataDirPrivate } from './config/data-dir.js';
import { loadOrCreateSecrets } from './config/secrets.js';
import path from 'node:path';
import { assertSharedSecrets } from './cluster/shared-secrets.js';
import { ClusterSettingsRepository } from './cluster/cluster-settings.repository.js';
import { assertSamePlaceForLocalHosts, machinePlace } from './cluster/machine-place.js';
import { HostsRepository } from './modules/hosts/hosts.repository.js';
import { openDatabase } from './db/database.js';
import { buildApp } from './app.js';

async function main() {
  // Everything this process and its children (qemu-img, genisoimage, QEMU…) create is private:
  // the database, disks, seed ISOs with users' user-data, recordings, downloaded images.
  process.umask(0o077);
  const config = loadConfig();
  makeDataDirPrivate(config.dataDir);
  const secrets = loadOrCreateSecrets(config.dataDir);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  // Several processes on one PostgreSQL share one secrets.json (a lone SQLite server has nobody to disagree with).
  // They also share this machine's compute hosts only from this machine and data dir.
  if (database.kind === 'postgres') {
    const settings = new ClusterSettingsRepository(database.db);
    const hosts = new HostsRepository(database.db);
    await assertSharedSecrets(settings, secrets, path.join(config.dataDir, 'secrets.json'))
      .then(() => assertSamePlaceForLocalHosts(settings, () => hosts.list(), machinePlace(config.dataDir)))
      .catch(async (err: unknown) => {
        await database.close();
        throw err;
      });
  }
  const { app, services } = await buildApp({ config, secrets, database });
  app.log.info({ database: database.location, kind: database.kind, dataDir: config.dataDir }, 'database ready');

  const admin = await services.auth.ensureAdmin({
    username: config.adminUsername,
    email: config.adminEmail,
    password: config.adminPassword,
  });
  if (admin.generatedPassword) {
    // Printed exactly once, on the start that created the account; it is stored only as a hash.
    process.stdout.write(
      `\n  Twarga Cloud admin account created\n    username: ${config.adminUsername}\n    password: ${admin.generatedPassword}\n  Save it now: it will not be shown again.\n\n`,
    );
  } else if (admin.created) {
    app.log.info({ username: config.adminUsername }, 'admin account created with TWARGA_ADMIN_PASSWORD');
  }

  // VMs that kept running while we were down are re-adopted; then the periodic pass starts.
  await services.reconciler.recoverAfterRestart();
  services.reconciler.start(config.reconcileSeconds * 1000);
  // Snapshots being taken when the server stopped fail; deletions are finished; files are checked against rows.
  await services.snapshotReconciler.recoverAfterRestart();
  services.snapshotReconciler.start(config.reconcileSeconds * 1000);
  await services.billing.start();
  services.collector.start(config.metricsIntervalSeconds * 1000);
  services.healthWatch.start(config.healthCheckSeconds * 1000);
  await services.terminal.start();
  await services.soc.start();

  const shutdown = async (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  await app.listen({ host: config.host, port: config.port });
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`twarga: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`twarga: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
