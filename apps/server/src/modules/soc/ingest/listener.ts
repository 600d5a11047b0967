import dgram from 'node:dgram';
import net from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { SyslogIngest, VmRef } from './ingest.js';

export interface SyslogListenerOptions {
  ingest: SyslogIngest;
  /** "host:port" or "[v6]:port" (config.syslogListen). */
  listen: string;
  /**
   * The VM whose known address this is, or null. Only an address that one VM really holds on a
   * bridged network names a VM; anything else is recorded unattributed (vm_id null).
   */
  vmByAddress(address: string): VmRef | null;
  log: FastifyBaseLogger;
  /** TCP connections held at once (default 256); more are refused. */
  maxConnections?: number;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([0-9A-Fa-f.:]+?)\]?:(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new Error(`syslogListen: expected host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1]!, port };
}

const plain = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

/**
 * The generic syslog receiver, UDP and TCP on one host:port, for guests on bridged networks
 * (libvirt, Vagrant) that have no channel of their own. Attribution is by the sender's address
 * only, and only to the VM that holds it; there is no anti-spoofing filter on the bridge here, so
 * a guest that forges another VM's address on the same bridge could speak for it (see the notes).
 */
export class SyslogListener {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly o: SyslogListenerOptions) {}

  async start(): Promise<{ udpPort: number; tcpPort: number }> {
    const { host, port } = parseListen(this.o.listen);
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => {
      const address = plain(rinfo.address);
      this.o.ingest.datagram({ kind: 'network', vm: this.o.vmByAddress(address), transport: 'udp', address }, msg);
    });
    udp.on('error', (err) => this.o.log.warn({ err }, 'syslog listener (udp)'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.udp = udp;
    const tcp = net.createServer((socket) => this.accept(socket));
    tcp.maxConnections = this.o.maxConnections ?? 256;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (err) => this.o.log.warn({ err }, 'syslog listener (tcp)'));
    this.tcp = tcp;
    return { udpPort: udp.address().port, tcpPort: (tcp.address() as net.AddressInfo).port };
  }

  private accept(socket: net.Socket): void {
    const address = plain(socket.remoteAddress ?? '?');
    this.sockets.add(socket);
    const feed = this.o.ingest.stream({ kind: 'network', vm: this.o.vmByAddress(address), transport: 'tcp', address });
    socket.on('data', (chunk: Buffer) => feed(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      this.udp && new Promise<void>((r) => this.udp!.close(() => r())),
      this.tcp && new Promise<void>((r) => this.tcp!.close(() => r())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }
}
