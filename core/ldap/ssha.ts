import { createHash, randomBytes } from 'node:crypto';

/** `{SSHA}` userPassword value (salted SHA-1, the scheme every slapd build understands). */
export function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return '{SSHA}' + Buffer.concat([digest, salt]).toString('base64');
}

/** A random password for a generated account: 32 URL-safe characters. */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}
