import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';

/** DO's paging query: page (from 1) and per_page (default 20, at most 200). */
export const PageQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
});
export type PageQuery = Static<typeof PageQuery>;

export interface PageLinks {
  pages?: { first?: string; prev?: string; next?: string; last?: string };
}

export interface Page<T> {
  items: T[];
  links: PageLinks;
  meta: { total: number };
}

/** The request's own URL, absolute: the configured public URL when set (behind a proxy), else what the client asked for. */
export function absoluteUrl(request: FastifyRequest, publicUrl: string | undefined): URL {
  const origin = publicUrl ?? `${request.protocol}://${request.host}`;
  return new URL(request.url, origin);
}

/**
 * One page of a list, with DO's links: first/prev only after the first page, next/last only
 * before the last, as absolute URLs that keep the request's other query parameters.
 */
export function paginate<T>(request: FastifyRequest, all: readonly T[], query: PageQuery, publicUrl: string | undefined): Page<T> {
  const perPage = query.per_page ?? 20;
  const page = query.page ?? 1;
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const url = absoluteUrl(request, publicUrl);
  const link = (n: number) => {
    url.searchParams.set('page', String(n));
    url.searchParams.set('per_page', String(perPage));
    return url.toString();
  };
  const pages: NonNullable<PageLinks['pages']> = {};
  if (page > 1) Object.assign(pages, { first: link(1), prev: link(Math.min(page - 1, lastPage)) });
  if (page < lastPage) Object.assign(pages, { next: link(page + 1), last: link(lastPage) });
  return {
    items: all.slice((page - 1) * perPage, page * perPage),
    links: Object.keys(pages).length ? { pages } : {},
    meta: { total: all.length },
  };
}
