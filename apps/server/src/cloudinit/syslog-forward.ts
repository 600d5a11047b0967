import { stringify } from 'yaml';

/** Where a guest sends its auth log: QEMU guests, their own channel (guestfwd to 10.0.2.100:514, TCP). */
export interface SyslogTarget {
  address: string;
  port: number;
}

/**
 * rsyslog's forward of the auth log (auth and authpriv: sshd's lines) over TCP, octet-counted
 * RFC 5424. Its own in-memory queue, which never makes the sender wait (timeoutEnqueue 0) and
 * drops when full: a host that does not read must never stall rsyslog's /dev/log input, and with
 * it sshd (a plain `*.* @@host:514` line would send synchronously and can). Retries forever.
 */
export function rsyslogForwardConf(target: SyslogTarget): string {
  if (!/^[0-9A-Fa-f.:]+$/.test(target.address)) throw new Error(`invalid syslog target address: ${JSON.stringify(target.address)}`);
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new Error(`invalid syslog target port: ${target.port}`);
  return [
    '# Twarga Cloud: this VM\'s auth log to the control plane\'s SOC (written by cloud-init vendor-data).',
    `auth,authpriv.* action(type="omfwd" target="${target.address}" port="${target.port}" protocol="tcp"`,
    '    template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted"',
    '    queue.type="LinkedList" queue.size="10000" queue.timeoutEnqueue="0"',
    '    queue.discardMark="9000" queue.discardSeverity="0"',
    '    action.resumeRetryCount="-1" action.resumeInterval="5")',
    '',
  ].join('\n');
}

/**
 * NoCloud vendor-data for cloud images: cloud-init's rsyslog module writes the forward into
 * /etc/rsyslog.d and restarts rsyslog. Vendor-data, not our user-data part: the VM's owner keeps
 * the last word (their user-data may override it or turn vendor-data off), and the key used
 * (`rsyslog`) is one a user's own config rarely sets, so the two do not collide.
 */
export function syslogVendorData(target: SyslogTarget): string {
  const doc = {
    rsyslog: {
      config_dir: '/etc/rsyslog.d',
      configs: [{ filename: '60-twarga-soc.conf', content: rsyslogForwardConf(target) }],
      service_reload_command: 'auto',
    },
  };
  return '#cloud-config\n' + stringify(doc, { lineWidth: 0 });
}
