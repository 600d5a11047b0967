import { Type } from '@sinclair/typebox';
import { Image, RegisterImageRequest } from '@twarga/contract';
import { errorResponses } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import { noteAudit } from '../audit/audit-note.js';
import type { VmsRepository } from '../vms/vms.repository.js';
import type { ImagesService } from './images.service.js';

const SlugParam = Type.Object({ slug: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,63}$' }) });

export async function imagesRoutes(app: App, { images, vms }: { images: ImagesService; vms: VmsRepository }) {
  app.get('/api/images', {
    config: { access: 'user' },
    schema: { tags: ['images'], summary: 'The image catalog (why a download failed, `error`, is shown to admins only)', response: { 200: Type.Array(Image), ...errorResponses } },
    handler: async (request) => images.list({ isAdmin: identityOf(request).user.is_admin }),
  });

  app.post('/api/admin/images', {
    config: { access: 'admin' },
    schema: { tags: ['images'], summary: 'Register a cloud image by URL (verified by sha256 or a SHA256SUMS file)', body: RegisterImageRequest, response: { 201: Image, ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'image.registered', target: { type: 'image', id: request.body.slug, label: request.body.name } });
      const image = await images.register(request.body);
      noteAudit(request, { after: image });
      return reply.status(201).send(image);
    },
  });

  app.post('/api/admin/images/:slug/download', {
    config: { access: 'admin' },
    schema: { tags: ['images'], summary: 'Download and verify an image (asynchronous; progress in GET /api/images)', params: SlugParam, response: { 202: Image, ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'image.download_started', target: { type: 'image', id: request.params.slug } });
      return reply.status(202).send(await images.startDownload(request.params.slug));
    },
  });

  app.post('/api/admin/images/:slug/build', {
    config: { access: 'admin' },
    schema: { tags: ['images'], summary: 'Build an image built on this host (debian-12) and import it (asynchronous; progress in GET /api/images; 409 while building or once available)', params: SlugParam, response: { 202: Image, ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'image.build_started', target: { type: 'image', id: request.params.slug } });
      return reply.status(202).send(await images.startBuild(request.params.slug));
    },
  });

  app.delete('/api/admin/images/:slug', {
    config: { access: 'admin' },
    schema: { tags: ['images'], summary: 'Delete a downloaded image no live VM uses (a built image stays listed, pending: Build imports it again)', params: SlugParam, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      noteAudit(request, { action: 'image.deleted', target: { type: 'image', id: request.params.slug } });
      const using = (await vms.listLive()).filter((v) => v.image === request.params.slug).length;
      await images.remove(request.params.slug, using);
      return reply.status(204).send(null);
    },
  });
}
