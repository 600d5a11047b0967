import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { pickFreePort } from './ports.js';

const listen = (host: string, port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port, exclusive: true }, () => resolve(s));
  });

test("a VM's SSH port is free on every address it will be bound on (QEMU's loopback forward and the SSH gateway's)", async () => {
  // A port some other program holds on the gateway's address only: QEMU could bind it, the gateway could not.
  const held = await listen('127.0.0.2', 0);
  const port = (held.address() as { port: number }).port;
  try {
    const range = `${port}-${port + 1}`;
    assert.equal(await pickFreePort(range, ['127.0.0.1'], new Set()), port);
    assert.equal(await pickFreePort(range, ['127.0.0.1', '127.0.0.2'], new Set()), port + 1);
    assert.equal(await pickFreePort(range, ['127.0.0.1'], new Set([port, port + 1])), undefined);
  } finally {
    held.close();
  }
});
