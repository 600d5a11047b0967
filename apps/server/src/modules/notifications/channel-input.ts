import { badRequest } from '../../http/errors.js';

/**
 * Checks of what a user types into a channel. An address needs a local part, an @ and a domain
 * with a dot (what a mail server will take); no spaces or line breaks, which also keeps headers
 * intact.
 */
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function checkEmail(raw: string): string {
  const email = raw.trim();
  if (!EMAIL.test(email) || email.length > 254) {
    throw badRequest('email is not a valid e-mail address', [{ field: 'email', message: 'must be an address like name@example.com' }]);
  }
  return email;
}

/** Syntax only (scheme, form); where the URL may point is checked separately against SSRF rules. */
export function checkWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw badRequest('url is not a valid URL', [{ field: 'url', message: 'must be an absolute http:// or https:// URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badRequest(`url must use http or https, not ${url.protocol.replace(/:$/, '')}`, [{ field: 'url', message: 'must be http or https' }]);
  }
  return url.href;
}

export function checkName(raw: string): string {
  const name = raw.trim();
  if (!name) throw badRequest('name must not be blank', [{ field: 'name', message: 'must not be blank' }]);
  return name;
}
