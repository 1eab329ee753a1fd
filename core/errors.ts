/**
 * Every error the project raises on purpose, in one module (after jose's src/util/errors.ts):
 * each class has a stable `code` (on the class and on every instance) that callers, logs and the
 * JSON API branch on, never the message text; `cause` is kept whenever one layer translates
 * another's error. Messages are written for the person reading the log or the page.
 *
 * A failing dependency is named as itself: DirectoryUnavailableError, OpenIdProviderUnavailableError
 * and MailUnavailableError share DependencyUnavailableError and carry `dependency`, so the portal
 * says which one is down and the agent's exit code and logs say the same.
 */

/** One problem found in an input, with where it is (a field name or config path) when known. */
export interface Issue {
  /** e.g. "username" or "agent.fullSyncSchedule"; absent when the problem is the whole input */
  path?: string;
  message: string;
}

export interface ErrorOptions {
  cause?: unknown;
}

export class CampaignGuardError extends Error {
  /** Stable identifier of the error class, e.g. ERR_VALIDATION. */
  static code = 'ERR_CAMPAIGN_GUARD';
  readonly code: string = 'ERR_CAMPAIGN_GUARD';
  override readonly name: string = 'CampaignGuardError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Bad input from a user, a file or a certificate: refuse it, change nothing. `issues` lists every problem. */
export class ValidationError extends CampaignGuardError {
  static override code = 'ERR_VALIDATION';
  override readonly code: string = 'ERR_VALIDATION';
  override readonly name: string = 'ValidationError';
  readonly issues: readonly Issue[];
  constructor(message: string, options?: ErrorOptions & { issues?: readonly Issue[] }) {
    super(message, options);
    this.issues = options?.issues?.length ? options.issues : [{ message }];
  }

  /** One error listing several problems; the message joins their messages for logs. */
  static of(issues: readonly Issue[], options?: ErrorOptions): ValidationError {
    return new ValidationError(issues.map((i) => i.message).join('; '), { ...options, issues });
  }
}

/** Configuration is missing or wrong; raised once, at start-up. `issues` lists every problem. */
export class ConfigError extends CampaignGuardError {
  static override code = 'ERR_CONFIG';
  override readonly code = 'ERR_CONFIG';
  override readonly name = 'ConfigError';
  readonly issues: readonly Issue[];
  constructor(message: string, options?: ErrorOptions & { issues?: readonly Issue[] }) {
    super(message, options);
    this.issues = options?.issues?.length ? options.issues : [{ message }];
  }
}

/** The thing asked for does not exist. */
export class NotFoundError extends CampaignGuardError {
  static override code = 'ERR_NOT_FOUND';
  override readonly code = 'ERR_NOT_FOUND';
  override readonly name = 'NotFoundError';
}

/** The change collides with existing state (identity bound elsewhere, name taken, lost a race). */
export class ConflictError extends CampaignGuardError {
  static override code = 'ERR_CONFLICT';
  override readonly code: string = 'ERR_CONFLICT';
  override readonly name: string = 'ConflictError';
}

/** A configured UID or GID range has no numbers left. */
export class RangeExhaustedError extends CampaignGuardError {
  static override code = 'ERR_RANGE_EXHAUSTED';
  override readonly code = 'ERR_RANGE_EXHAUSTED';
  override readonly name = 'RangeExhaustedError';
}

/** The caller is not allowed to do this. */
export class ForbiddenError extends CampaignGuardError {
  static override code = 'ERR_FORBIDDEN';
  override readonly code: string = 'ERR_FORBIDDEN';
  override readonly name: string = 'ForbiddenError';
}

/** No (valid) login on a request that needs one. */
export class LoginRequiredError extends CampaignGuardError {
  static override code = 'ERR_LOGIN_REQUIRED';
  override readonly code = 'ERR_LOGIN_REQUIRED';
  override readonly name = 'LoginRequiredError';
}

/** The services the project depends on, as they are named to users and in logs. */
export type Dependency = 'directory' | 'openid-provider' | 'mail';

export const DEPENDENCY_NAMES: Record<Dependency, string> = {
  directory: 'the directory',
  'openid-provider': 'the OpenID provider',
  mail: 'the mail server',
};

/** A service we depend on could not be reached, timed out, refused us, or answered only partially. */
export class DependencyUnavailableError extends CampaignGuardError {
  static override code = 'ERR_DEPENDENCY_UNAVAILABLE';
  override readonly code: string = 'ERR_DEPENDENCY_UNAVAILABLE';
  override readonly name: string = 'DependencyUnavailableError';
  constructor(
    readonly dependency: Dependency,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The directory (LDAP) could not be reached, timed out, or answered only partially. */
export class DirectoryUnavailableError extends DependencyUnavailableError {
  static override code = 'ERR_DIRECTORY_UNAVAILABLE';
  override readonly code = 'ERR_DIRECTORY_UNAVAILABLE';
  override readonly name = 'DirectoryUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super('directory', message, options);
  }
}

/** An OpenID provider (discovery, JWKS, token endpoint) could not be reached or answered badly. */
export class OpenIdProviderUnavailableError extends DependencyUnavailableError {
  static override code = 'ERR_OPENID_PROVIDER_UNAVAILABLE';
  override readonly code = 'ERR_OPENID_PROVIDER_UNAVAILABLE';
  override readonly name = 'OpenIdProviderUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super('openid-provider', message, options);
  }
}

/** The mail server (SMTP) could not be reached or refused the message. */
export class MailUnavailableError extends DependencyUnavailableError {
  static override code = 'ERR_MAIL_UNAVAILABLE';
  override readonly code = 'ERR_MAIL_UNAVAILABLE';
  override readonly name = 'MailUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super('mail', message, options);
  }
}

/** Issues of a schema validation (zod's error.issues), paths joined with dots. */
export function schemaIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): Issue[] {
  return error.issues.map((i) => (i.path.length ? { path: i.path.map(String).join('.'), message: i.message } : { message: i.message }));
}

/** The stable code of any error: ours, or a Node system error's (ECONNREFUSED), or undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
