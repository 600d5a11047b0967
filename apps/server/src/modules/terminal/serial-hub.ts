import type { Duplex } from 'node:stream';
import type { SerialConsole } from '../../compute/driver.js';
import type { BackendSink, TerminalBackend } from './backend.js';

interface Hub {
  socket: Duplex;
  viewers: Set<BackendSink>;
}

/**
 * One connection per VM serial port, shared by every viewer (QEMU's chardev accepts a single
 * client): output fans out to all, any viewer's keystrokes go to the guest, like a shared Lish.
 * The connection closes when the last viewer leaves.
 */
export class SerialHubs {
  private readonly hubs = new Map<string, Promise<Hub>>();

  async attach(console: SerialConsole, instanceId: string, sink: BackendSink): Promise<TerminalBackend> {
    const hub = await this.hub(console, instanceId);
    hub.viewers.add(sink);
    const leave = () => {
      if (!hub.viewers.delete(sink)) return;
      if (hub.viewers.size === 0) {
        this.hubs.delete(instanceId);
        hub.socket.destroy();
      }
    };
    return {
      write: (data) => hub.socket.write(data),
      // A serial line has no window size to pass on; the guest keeps its own (stty).
      resize: () => {},
      close: leave,
    };
  }

  private hub(console: SerialConsole, instanceId: string): Promise<Hub> {
    let pending = this.hubs.get(instanceId);
    if (!pending) {
      pending = this.connect(console, instanceId);
      this.hubs.set(instanceId, pending);
      pending.catch(() => this.hubs.delete(instanceId));
    }
    return pending;
  }

  private async connect(console: SerialConsole, instanceId: string): Promise<Hub> {
    const socket = await console.openSerial(instanceId);
    const hub: Hub = { socket, viewers: new Set() };
    socket.on('data', (data: Buffer) => {
      for (const v of hub.viewers) v.output(data);
    });
    const gone = (message: string) => {
      if (this.hubs.get(instanceId) !== undefined) this.hubs.delete(instanceId);
      const viewers = [...hub.viewers];
      hub.viewers.clear();
      for (const v of viewers) v.ended('vm_stopped', null, message);
    };
    socket.on('error', (err) => gone(`serial console failed: ${err.message}`));
    socket.on('close', () => gone('the serial console closed: the VM stopped'));
    return hub;
  }
}
