import type { GuestReport } from '../driver.js';
import { parseDomMemStat, parseFsInfo, parseInterfaces } from '../guest-parse.js';

/** Runs one virsh command (argv after `virsh -c <uri> -q`) and resolves with its stdout; rejects on failure. */
export type VirshRun = (args: string[]) => Promise<string>;

/** Seconds libvirt waits for the agent's guest-ping before calling it silent. */
const PING_TIMEOUT_S = '2';
/** Seconds for the agent's further answers. */
const QUERY_TIMEOUT_S = '5';
/** How often the guest sends balloon statistics once asked (the collector samples every 5 s). */
const BALLOON_PERIOD_S = '2';

/**
 * A GuestReport for a libvirt domain (the libvirt and Vagrant drivers): the agent through
 * `virsh qemu-agent-command` (libvirt does the guest-sync itself, on the domain's
 * org.qemu.guest_agent.0 channel) and the balloon through `virsh dommemstat`. Callers check
 * first that the domain runs. A silent agent gives `{agent: false}` and nothing else.
 */
export async function guestReportViaVirsh(virsh: VirshRun, domain: string): Promise<GuestReport> {
  const agent = (command: string, timeout: string) => virsh(['qemu-agent-command', domain, JSON.stringify({ execute: command }), '--timeout', timeout]).then((out) => (JSON.parse(out) as { return?: unknown }).return);
  try {
    await agent('guest-ping', PING_TIMEOUT_S);
  } catch {
    return { agent: false };
  }
  const report: GuestReport = { agent: true };
  // A command that fails leaves its field absent (not an empty list that reads as "none").
  const filesystems = await agent('guest-get-fsinfo', QUERY_TIMEOUT_S).then(parseFsInfo, () => undefined);
  if (filesystems) report.filesystems = filesystems;
  const interfaces = await agent('guest-network-get-interfaces', QUERY_TIMEOUT_S).then(parseInterfaces, () => undefined);
  if (interfaces) report.interfaces = interfaces;
  const memory = await balloonMemory(virsh, domain);
  if (memory) report.memory = memory;
  return report;
}

/**
 * `virsh dommemstat`; when the guest's numbers are missing (its statistics period is 0: a domain
 * defined without <stats period>, as vagrant-libvirt makes them), turns the period on for the
 * running domain: the numbers come with a later report.
 */
async function balloonMemory(virsh: VirshRun, domain: string): Promise<GuestReport['memory']> {
  try {
    const memory = parseDomMemStat(await virsh(['dommemstat', domain]));
    if (!memory) await virsh(['dommemstat', domain, '--period', BALLOON_PERIOD_S, '--live']).catch(() => undefined);
    return memory;
  } catch {
    return undefined;
  }
}
