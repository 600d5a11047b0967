/**
 * The server with the FakeDriver instead of QEMU, for bench/two-processes.ts's create-admission
 * run only: the same app, config, database and admission path (quota, credits, capacity, the
 * cluster lock, the insert, the action), with VMs that "boot" instantly and use no CPU. Started
 * as its own process (node --conditions=development --import tsx), configured by the same
 * TWARGA_* environment as the real server. Never part of the product.
 */
import { buildApp } from '../../apps/server/src/app.js';
import { loadConfig } from '../../apps/server/src/config/config.js';
import { loadOrCreateSecrets } from '../../apps/server/src/config/secrets.js';
import { openDatabase } from '../../apps/server/src/db/database.js';
import { FakeDriver } from '../../apps/server/src/test-support/fake-driver.js';

const config = loadConfig();
const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
const { app, services } = await buildApp({ config, secrets: loadOrCreateSecrets(config.dataDir), database, driver: new FakeDriver() });
await services.auth.ensureAdmin({ username: config.adminUsername, email: config.adminEmail, password: config.adminPassword });
process.once('SIGTERM', () => void app.close().then(() => database.close()).finally(() => process.exit(0)));
await app.listen({ host: config.host, port: config.port });
