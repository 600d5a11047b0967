import type { CreateSshKeyRequest, SshKey } from '@twarga/contract';
import { Mutex } from 'async-mutex';
import type { ExclusiveLock } from '../../lib/cluster-lock.js';
import { badRequest, conflict, notFound, quotaExceeded } from '../../http/errors.js';
import type { Clock } from '../../lib/time.js';
import { isUniqueViolation } from '../auth/auth.service.js';
import type { Identity, RequestContext } from '../auth/identity.js';
import type { EventLog } from '../events/event-log.js';
import type { KeysRepository } from './keys.repository.js';
import { parsePublicKey } from './ssh-public-key.js';

export interface KeysPolicy {
  /** SSH keys a user may register. */
  maxKeysPerUser: number;
}

export class KeysService {
  constructor(
    private readonly repo: KeysRepository,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly policy: KeysPolicy,
    /** The quota check reads what exists, then the insert adds to it: one at a time, across server processes. */
    private readonly admission: ExclusiveLock = new Mutex(),
  ) {}

  list(identity: Identity): Promise<SshKey[]> {
    return this.repo.listForUser(identity.user.id);
  }

  async get(identity: Identity, id: number): Promise<SshKey> {
    const key = await this.repo.findForUser(identity.user.id, id);
    if (!key) throw notFound('SSH key');
    return key;
  }

  async add(identity: Identity, input: CreateSshKeyRequest, ctx: RequestContext): Promise<SshKey> {
    const parsed = parsePublicKey(input.public_key);
    if ('error' in parsed) throw badRequest(`Public key ${parsed.error}`, [{ field: 'public_key', message: parsed.error }]);
    const existing = await this.repo.findByFingerprint(identity.user.id, parsed.fingerprint);
    if (existing) throw duplicate(existing.name);
    let key: SshKey;
    try {
      key = await this.admission.runExclusive(async () => {
        if ((await this.repo.countForUser(identity.user.id)) >= this.policy.maxKeysPerUser) {
          throw quotaExceeded(`at most ${this.policy.maxKeysPerUser} SSH keys per user; delete one you no longer use`);
        }
        return this.repo.insert({
          user_id: identity.user.id,
          name: input.name.trim(),
          public_key: parsed.openssh,
          fingerprint: parsed.fingerprint,
          fingerprint_md5: parsed.fingerprintMd5,
          key_type: parsed.type,
          bits: parsed.bits,
          created_at: this.clock.now().toISOString(),
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(input.name);
      throw err;
    }
    await this.events.record({ type: 'auth', action: 'ssh_key.added', message: `SSH key "${key.name}" added (${key.fingerprint})`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { key_id: key.id, fingerprint: key.fingerprint } });
    return key;
  }

  /** Renames a key (DO's PUT /v2/account/keys/{id}); the name rules of a new key apply (the schema's, and not blank). */
  async rename(identity: Identity, id: number, name: string, ctx: RequestContext): Promise<SshKey> {
    const trimmed = name.trim();
    if (!trimmed) throw badRequest('Name must not be blank', [{ field: 'name', message: 'must not be blank' }]);
    const key = await this.repo.rename(identity.user.id, id, trimmed);
    if (!key) throw notFound('SSH key');
    await this.events.record({ type: 'auth', action: 'ssh_key.renamed', message: `SSH key renamed to "${key.name}"`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { key_id: id, fingerprint: key.fingerprint } });
    return key;
  }

  async remove(identity: Identity, id: number, ctx: RequestContext): Promise<void> {
    const key = await this.repo.delete(identity.user.id, id);
    if (!key) throw notFound('SSH key');
    await this.events.record({ type: 'auth', action: 'ssh_key.deleted', message: `SSH key "${key.name}" deleted`, userId: identity.user.id, username: identity.user.username, sourceIp: ctx.ip, details: { key_id: id, fingerprint: key.fingerprint } });
  }
}

function duplicate(name: string) {
  return conflict(`This key is already registered as "${name}"`, [{ field: 'public_key', message: 'is already registered' }]);
}
