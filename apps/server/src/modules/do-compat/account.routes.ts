import { Type } from '@sinclair/typebox';
import { CreateSshKeyRequest } from '@twarga/contract';
import { notFound } from '../../http/errors.js';
import { contextOf, identityOf, type App } from '../../http/types.js';
import { effectiveLimits } from '../vms/quota.js';
import { toDoAccount, toDoBalance } from './account-view.js';
import { findDoKey, toDoKey } from './keys-view.js';
import { paginate, PageQuery } from './pagination.js';
import type { DoRoutesOptions } from './wiring.js';

const KeyRef = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 200, description: 'key id, MD5 fingerprint (DO) or SHA256 fingerprint' }) });
// DO clients send exactly these fields; the rules are /api's (same property schemas).
const CreateKey = Type.Object({ name: CreateSshKeyRequest.properties.name, public_key: CreateSshKeyRequest.properties.public_key });
const UpdateKey = Type.Object({ name: CreateSshKeyRequest.properties.name });

/** /v2/account, its SSH keys and /v2/customers/my/balance: DO's shapes over KeysService, the users and billing. */
export async function accountRoutes(app: App, { deps, route }: DoRoutesOptions) {
  const { keys, users, vms, billing, clock, config } = deps;
  const tags = ['do-compat'];

  app.get('/account', {
    config: route('user'),
    schema: { tags, summary: 'DO: your account' },
    handler: async (request) => {
      const identity = identityOf(request);
      const user = await users.findById(identity.user.id);
      if (!user) throw notFound('User');
      const summary = await billing.summary(user.id);
      return { account: toDoAccount(user, effectiveLimits(user, vms.defaultLimits()).maxVms, summary) };
    },
  });

  app.get('/customers/my/balance', {
    config: route('user'),
    schema: { tags, summary: 'DO: your balance (credits, DO sign convention)' },
    handler: async (request) => toDoBalance(await billing.usage(identityOf(request).user.id), clock.now()),
  });

  app.get('/account/keys', {
    config: route('user'),
    schema: { tags, summary: 'DO: list your SSH keys', querystring: PageQuery },
    handler: async (request) => {
      const page = paginate(request, (await keys.list(identityOf(request))).map(toDoKey), request.query, config.publicUrl);
      return { ssh_keys: page.items, links: page.links, meta: page.meta };
    },
  });

  app.post('/account/keys', {
    config: route('user'),
    schema: { tags, summary: 'DO: add an SSH key', body: CreateKey },
    handler: async (request, reply) => {
      const key = await keys.add(identityOf(request), request.body, contextOf(request));
      return reply.status(201).send({ ssh_key: toDoKey(key) });
    },
  });

  app.get('/account/keys/:ref', {
    config: route('user'),
    schema: { tags, summary: 'DO: one SSH key, by id or fingerprint', params: KeyRef },
    handler: async (request) => ({ ssh_key: toDoKey(await findDoKey(keys, identityOf(request), request.params.ref)) }),
  });

  app.put('/account/keys/:ref', {
    config: route('user'),
    schema: { tags, summary: 'DO: rename an SSH key', params: KeyRef, body: UpdateKey },
    handler: async (request) => {
      const identity = identityOf(request);
      const key = await findDoKey(keys, identity, request.params.ref);
      return { ssh_key: toDoKey(await keys.rename(identity, key.id, request.body.name, contextOf(request))) };
    },
  });

  app.delete('/account/keys/:ref', {
    config: route('user'),
    schema: { tags, summary: 'DO: delete an SSH key', params: KeyRef },
    handler: async (request, reply) => {
      const identity = identityOf(request);
      const key = await findDoKey(keys, identity, request.params.ref);
      await keys.remove(identity, key.id, contextOf(request));
      return reply.status(204).send();
    },
  });
}
