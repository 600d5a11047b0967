import { Type } from '@sinclair/typebox';
import { notFound } from '../../http/errors.js';
import { identityOf, type App } from '../../http/types.js';
import { SIZES } from '../sizes/sizes.js';
import { findDoImage, openHostNames, toDoImage, toDoRegion, toDoSize } from './catalog-view.js';
import { paginate, PageQuery } from './pagination.js';
import type { DoRoutesOptions } from './wiring.js';

const ImagesQuery = Type.Composite([
  PageQuery,
  Type.Object({
    type: Type.Optional(Type.String({ maxLength: 32, description: 'distribution: every catalog image; application (and any other type): none here' })),
    private: Type.Optional(Type.Boolean({ description: 'true: your own images; snapshots stay on /api, so none' })),
    tag_name: Type.Optional(Type.String({ maxLength: 255, description: 'catalog images carry no tags: none' })),
  }),
]);
const ImageRef = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 200, description: 'image id, DO slug (ubuntu-24-04-x64) or our slug' }) });

/** /v2/sizes, /v2/images and /v2/regions: our catalog, sizes and compute hosts in DO's shapes. */
export async function catalogRoutes(app: App, { deps, route }: DoRoutesOptions) {
  const { imagesRepo, hostsRepo, config } = deps;
  const tags = ['do-compat'];
  const regionNames = async () => openHostNames(await hostsRepo.list());

  app.get('/sizes', {
    config: route('user'),
    schema: { tags, summary: 'DO: sizes', querystring: PageQuery },
    handler: async (request) => {
      const regions = await regionNames();
      const page = paginate(request, SIZES.map((s) => toDoSize(s, regions)), request.query, config.publicUrl);
      return { sizes: page.items, links: page.links, meta: page.meta };
    },
  });

  app.get('/regions', {
    config: route('user'),
    schema: { tags, summary: 'DO: regions (one per compute host)', querystring: PageQuery },
    handler: async (request) => {
      const sizes = SIZES.map((s) => s.slug);
      const page = paginate(request, (await hostsRepo.list()).map((h) => toDoRegion(h, sizes)), request.query, config.publicUrl);
      return { regions: page.items, links: page.links, meta: page.meta };
    },
  });

  app.get('/images', {
    config: route('user'),
    schema: { tags, summary: 'DO: images (the catalog as distribution images)', querystring: ImagesQuery },
    handler: async (request) => {
      const { type, private: own, tag_name } = request.query;
      // Everything here is a public distribution image without tags; other kinds do not exist on /v2.
      const listed = (type === undefined || type === 'distribution') && own !== true && tag_name === undefined;
      const [rows, regions] = listed ? await Promise.all([imagesRepo.list(), regionNames()]) : [[], []];
      const showError = identityOf(request).user.is_admin;
      const images = [...rows].sort((a, b) => Number(a.id) - Number(b.id)).map((r) => toDoImage(r, regions, { showError }));
      const page = paginate(request, images, request.query, config.publicUrl);
      return { images: page.items, links: page.links, meta: page.meta };
    },
  });

  app.get('/images/:ref', {
    config: route('user'),
    schema: { tags, summary: 'DO: one image, by id or slug', params: ImageRef },
    handler: async (request) => {
      const row = await findDoImage(imagesRepo, request.params.ref);
      if (!row) throw notFound('Image');
      return { image: toDoImage(row, await regionNames(), { showError: identityOf(request).user.is_admin }) };
    },
  });
}
