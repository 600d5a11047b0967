import { Virsh, VirshError } from './virsh.js';

/** Why a libvirt host cannot be used: its SSH host key is not recorded, differs, or it does not answer. */
export interface ConnectionProblem {
  kind: 'host-key-unknown' | 'host-key-mismatch' | 'unreachable';
  /** libvirt's own words (the last lines of virsh's error), for the admin. */
  detail: string;
}

/**
 * libvirt's libssh/libssh2 messages (virnetlibsshsession.c, virnetsshsession.c): an unknown key is
 * offered to an interactive prompt, which gets EOF from us and "was not accepted"; a recorded key
 * that differs fails with "differs from stored identity" / "HOST KEY VERIFICATION FAILED".
 */
export function classifyConnectionError(stderr: string): ConnectionProblem['kind'] {
  if (/differs from stored identity|host key verification failed|host key (?:has )?changed|mismatch/i.test(stderr)) return 'host-key-mismatch';
  if (/was not accepted|host key .*(?:unknown|not found)|unknown host key/i.test(stderr)) return 'host-key-unknown';
  return 'unreachable';
}

/** Opens the URI once (`virsh version`): undefined when libvirtd answered, else what stopped it. */
export async function checkLibvirtConnection(uri: string, options: { timeoutMs?: number; virshBinary?: string } = {}): Promise<ConnectionProblem | undefined> {
  const virsh = new Virsh(uri, { binary: options.virshBinary, timeoutMs: options.timeoutMs ?? 20_000 });
  try {
    await virsh.run(['version']);
    return undefined;
  } catch (err) {
    if (!(err instanceof VirshError)) throw err;
    const detail = err.kind === 'timeout' ? 'no answer in time' : err.message.replace(/^virsh version failed: /, '');
    return { kind: err.kind === 'timeout' ? 'unreachable' : classifyConnectionError(err.stderr), detail };
  }
}
