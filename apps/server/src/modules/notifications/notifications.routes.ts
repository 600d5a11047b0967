import { Type } from '@sinclair/typebox';
import { CreateChannelRequest, CreatedChannel, DeliveriesQuery, IdParam, NotificationChannel, NotificationDelivery, UpdateChannelRequest } from '@twarga/contract';
import type { FastifyRequest } from 'fastify';
import { errorResponses } from '../../http/errors.js';
import { contextOf, identityOf, type App } from '../../http/types.js';
import type { NotificationsService } from './notifications.service.js';

const TAGS = ['notifications'];

export async function notificationsRoutes(app: App, { notifications, testsPerMinute = 5 }: { notifications: NotificationsService; testsPerMinute?: number }) {
  app.get('/api/notifications/channels', {
    config: { access: 'user' },
    schema: { tags: TAGS, summary: 'Your notification channels', response: { 200: Type.Array(NotificationChannel), ...errorResponses } },
    handler: async (request) => notifications.list(identityOf(request)),
  });

  app.post('/api/notifications/channels', {
    config: { access: 'user' },
    schema: {
      tags: TAGS,
      summary: 'Add an e-mail or webhook channel (a webhook\'s signing secret is in this answer only)',
      body: CreateChannelRequest,
      response: { 201: CreatedChannel, ...errorResponses },
    },
    handler: async (request, reply) => reply.status(201).send(await notifications.create(identityOf(request), request.body, contextOf(request))),
  });

  app.get('/api/notifications/channels/:id', {
    config: { access: 'user' },
    schema: { tags: TAGS, summary: 'One notification channel', params: IdParam, response: { 200: NotificationChannel, ...errorResponses } },
    handler: async (request) => notifications.get(identityOf(request), request.params.id),
  });

  app.patch('/api/notifications/channels/:id', {
    config: { access: 'user' },
    schema: { tags: TAGS, summary: 'Change a channel', params: IdParam, body: UpdateChannelRequest, response: { 200: NotificationChannel, ...errorResponses } },
    handler: async (request) => notifications.update(identityOf(request), request.params.id, request.body, contextOf(request)),
  });

  app.delete('/api/notifications/channels/:id', {
    config: { access: 'user' },
    schema: { tags: TAGS, summary: 'Delete a channel and its delivery log', params: IdParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await notifications.remove(identityOf(request), request.params.id, contextOf(request));
      return reply.status(204).send(null);
    },
  });

  app.post('/api/notifications/channels/:id/test', {
    // Each test sends real mail or HTTP: a few per minute per user.
    config: { access: 'user', rateLimit: { max: testsPerMinute, timeWindow: '1 minute', keyGenerator: perUser } },
    schema: {
      tags: TAGS,
      summary: 'Send a test notification now; answers with the delivery after its first attempt',
      params: IdParam,
      response: { 200: NotificationDelivery, ...errorResponses },
    },
    handler: async (request) => notifications.sendTest(identityOf(request), request.params.id),
  });

  app.post('/api/notifications/channels/:id/rotate-secret', {
    config: { access: 'user' },
    schema: { tags: TAGS, summary: 'Replace a webhook\'s signing secret (the new one is in this answer only)', params: IdParam, response: { 200: CreatedChannel, ...errorResponses } },
    handler: async (request) => notifications.rotateSecret(identityOf(request), request.params.id, contextOf(request)),
  });

  app.get('/api/notifications/deliveries', {
    config: { access: 'user' },
    schema: { tags: TAGS, summary: 'Your latest notification deliveries, newest first', querystring: DeliveriesQuery, response: { 200: Type.Array(NotificationDelivery), ...errorResponses } },
    handler: async (request) => notifications.deliveries(identityOf(request), request.query),
  });
}

/** The guard has run by now: limit by account, not by address. */
const perUser = (request: FastifyRequest) => (request.identity ? `user:${request.identity.user.id}` : `ip:${request.ip}`);
