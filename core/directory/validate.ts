/** Input checks at the directory's edge: names that go into DNs and free text that goes into values. */
import { ValidationError } from '../errors.js';

/** dCache's ldap plugin does not escape usernames: keep them to this set. Same rule for campaign names. */
export const NAME_PATTERN = /^[a-z][a-z0-9._-]{0,31}$/;

export function checkUsername(name: string): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new ValidationError(`invalid username ${JSON.stringify(name)}: must match ${NAME_PATTERN.source}`);
  }
  return name;
}

export function checkCampaignName(name: string): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new ValidationError(`invalid campaign name ${JSON.stringify(name)}: must match ${NAME_PATTERN.source}`);
  }
  return name;
}

/**
 * Free text stored as a value (names, descriptions, justifications): stored literally, whatever
 * LDAP metacharacters it holds. Refused: empty/blank (LDAP DirectoryString cannot be empty;
 * slapd folds insignificant spaces), control characters (line breaks only where multiline),
 * unpaired surrogates, over-long values.
 */
export function checkText(field: string, value: string, maxLength = 256, multiline = false): string {
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string`);
  if (value.trim() === '') throw new ValidationError(`${field} must not be empty`);
  if (value.length > maxLength) throw new ValidationError(`${field} is longer than ${maxLength} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value) || (!multiline && /[\n\t]/.test(value))) {
    throw new ValidationError(`${field} contains control characters${multiline ? '' : ' or line breaks'}`);
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) throw new ValidationError(`${field} is not valid Unicode`);
  return value;
}

export function checkMail(value: string): string {
  checkText('mail', value, 254);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw new ValidationError(`invalid e-mail address ${JSON.stringify(value)}`);
  return value;
}

export function checkLoginShell(value: string): string {
  if (!/^\/[A-Za-z0-9._/-]{1,127}$/.test(value)) throw new ValidationError(`invalid login shell ${JSON.stringify(value)}`);
  return value;
}

export function checkRole(value: string): string {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(value)) throw new ValidationError(`invalid role ${JSON.stringify(value)}`);
  return value;
}

/** Grid slash-form subject: starts with '/', one line, no control characters. */
export function checkCertSubject(field: string, value: string): string {
  checkText(field, value, 1024);
  if (!value.startsWith('/') || !value.includes('=')) {
    throw new ValidationError(`${field} must be a grid slash-form DN like /C=DE/O=Example/CN=Alice: ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkOidcIssuer(value: string): string {
  checkText('OIDC issuer', value, 1024);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`OIDC issuer is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname))) {
    throw new ValidationError(`OIDC issuer must be an https URL: ${JSON.stringify(value)}`);
  }
  return value;
}

/** OIDC sub: ASCII, 1..255 characters (OpenID Connect Core 1.0 section 2). */
export function checkOidcSubject(value: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || !/^[\x20-\x7e]+$/.test(value)) {
    throw new ValidationError(`OIDC subject must be 1-255 printable ASCII characters: ${JSON.stringify(value)}`);
  }
  return value;
}
