/**
 * Which failures of an OpenID provider mean "the provider is not available" (network, timeout,
 * a 5xx answer) rather than "the provider or the token said no": the first become
 * OpenIdProviderUnavailableError (503, the provider named), the second stay refusals. Covers
 * openid-client (ClientError codes, fetch's TypeError) and jose's remote JWKS.
 */
import { OpenIdProviderUnavailableError } from '../../core/errors.js';

const UNREACHABLE_CODES = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'ERR_JWKS_TIMEOUT']);

export function isProviderUnreachable(err: unknown): boolean {
  if (err instanceof TypeError) return true; // fetch failed: DNS, refused, reset, TLS
  const e = err as { code?: unknown; cause?: unknown; message?: unknown; name?: unknown } | undefined;
  if (!e) return false;
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  const status = (e.cause as { status?: unknown } | undefined)?.status;
  if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && typeof status === 'number' && status >= 500) return true;
  if (typeof e.message === 'string' && /Expected 200 OK from the JSON Web Key Set HTTP response/.test(e.message)) return true;
  return false;
}

/** The OpenIdProviderUnavailableError for `err` when it means the provider is down, else undefined. */
export function providerUnavailable(err: unknown, provider: { name: string; issuer: string }, doing: string): OpenIdProviderUnavailableError | undefined {
  if (err instanceof OpenIdProviderUnavailableError) return err;
  if (!isProviderUnreachable(err)) return undefined;
  return new OpenIdProviderUnavailableError(`the OpenID provider ${provider.name} (${provider.issuer}) cannot be reached (${doing}): ${(err as Error).message}`, { cause: err });
}
