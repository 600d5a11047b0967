import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pageContentSecurityPolicy, STATIC_PAGE_POLICY } from '../../http/content-security.js';
import { recordAccessDenied } from '../../http/guard.js';
import type { App } from '../../http/types.js';
import type { EventLog } from '../events/event-log.js';

/** Pages of the single-page app. Which need a session, and which need an admin. */
const PUBLIC_PAGES = ['/login', '/register'];
const USER_PAGES = ['/', '/vms', '/vms/*', '/monitor', '/monitor/*', '/soc', '/billing', '/billing/*', '/account'];
const ADMIN_PAGES = ['/admin', '/admin/*'];

/**
 * Serves the built web UI on the API's port, and enforces page access on the server:
 * no session → redirect to /login; a non-admin on an admin page → 403.
 */
export async function webRoutes(app: App, { webDir, events }: { webDir: string; events: EventLog }) {
  const index = path.join(webDir, 'index.html');
  // Every HTML response of this scope (the pages, and any HTML file among the static ones) carries
  // a CSP: the pages set theirs; anything else gets the strictest. Scoped here, not global, so API
  // responses do not pay for the check (the API docs set their own policy).
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && /^\s*text\/html\b/i.test(type) && !reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', STATIC_PAGE_POLICY);
    }
    done(null, payload);
  });
  if (!existsSync(index)) {
    app.log.warn({ webDir }, 'web UI not built: pages answer 503 until `npm run build` has run');
  } else {
    // serve: false, the route below serves the files: the plugin's own route could not declare its access.
    await app.register(fastifyStatic, {
      root: webDir,
      index: false,
      serve: false,
      // Set here, not by `send`: its own header (public, max-age=0) would replace this one.
      cacheControl: false,
      setHeaders: (res, file) => {
        const hashed = file.includes(`${path.sep}assets${path.sep}`);
        res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=0');
      },
    });
    // The built files (scripts, styles, icons): public, the login page needs them.
    app.route<{ Params: { '*': string } }>({
      method: ['GET', 'HEAD'],
      url: '/*',
      config: { access: 'public' },
      schema: { hide: true },
      handler: (request, reply) => reply.sendFile(`/${request.params['*']}`, webDir),
    });
  }

  // The policy allows index.html's inline script by its hash: recomputed when a rebuild changes the file.
  let policy: { mtimeMs: number; value: string } | undefined;
  const policyFor = (mtimeMs: number) => {
    if (policy?.mtimeMs !== mtimeMs) policy = { mtimeMs, value: pageContentSecurityPolicy(readFileSync(index, 'utf8')) };
    return policy.value;
  };

  const sendApp = (reply: FastifyReply) => {
    if (!existsSync(index)) {
      return reply.status(503).type('text/plain').send('Twarga Cloud web UI is not built. Run `npm run build`.');
    }
    return reply.header('cache-control', 'no-cache').header('content-security-policy', policyFor(statSync(index).mtimeMs)).sendFile('index.html', webDir);
  };
  const toLogin = (request: FastifyRequest, reply: FastifyReply) =>
    reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 302);

  // The static files include index.html itself: served under its own name it would skip the
  // page policy (and the session check), so that name only points at the app's root.
  app.get('/index.html', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/', 301));

  for (const url of PUBLIC_PAGES) {
    app.get(url, { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => sendApp(reply));
  }
  for (const url of USER_PAGES) {
    app.get(url, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) =>
      request.identity ? sendApp(reply) : toLogin(request, reply),
    );
  }
  for (const url of ADMIN_PAGES) {
    app.get(url, { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
      if (!request.identity) return toLogin(request, reply);
      if (!request.identity.user.is_admin) {
        await recordAccessDenied(events, request, 'admin_only_page');
        return reply.status(403).type('text/html').header('content-security-policy', STATIC_PAGE_POLICY).send(FORBIDDEN_PAGE);
      }
      return sendApp(reply);
    });
  }
}

const FORBIDDEN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>403 · Twarga Cloud</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>403 — Administrators only</h1><p>Your account cannot open this page.</p><p><a href="/vms">Back to your VMs</a></p></body></html>`;
