import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * A request that sends no body at all is treated as sending `{}` when its route takes a JSON object.
 *
 * Why: seed clients (curl -X POST, requests.post(url), a fetch() without body) send
 * `POST /api/terminal/start/{vm_id}` with no body, and often with `Content-Type: application/json`
 * but zero bytes. The seed's FastAPI accepted that where every field is optional; Fastify refused it
 * ("body must be object", or "Body cannot be empty"). With `{}` a route whose fields are all optional just works,
 * and a route with required fields still gets the 400 that names each missing field.
 * An explicit body (`null`, `[]`, a string) is left alone: that is the client's choice, judged by the schema.
 */
export function registerEmptyBody(app: FastifyInstance): void {
  // Fastify's own JSON parser (with its prototype-poisoning checks) for every body but the empty one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') return done(null, undefined);
    parseJson(request, text, done);
  });

  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && takesObjectBody(request)) request.body = {};
    done();
  });
}

function takesObjectBody(request: FastifyRequest): boolean {
  const schema = request.routeOptions.schema?.body as { type?: unknown } | undefined;
  return schema?.type === 'object';
}
