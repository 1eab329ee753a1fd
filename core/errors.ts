/**
 * Typed errors shared by the portal and the agent. Callers branch on the class,
 * never on message text; messages are written for the person reading the log or page.
 */
export class CampaignGuardError extends Error {
  override readonly name: string = 'CampaignGuardError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad input from a user, a file or a certificate: refuse it, change nothing. */
export class ValidationError extends CampaignGuardError {
  override readonly name = 'ValidationError';
}

/** Configuration is missing or wrong; raised once, at start-up. */
export class ConfigError extends CampaignGuardError {
  override readonly name = 'ConfigError';
}

/** The thing asked for does not exist. */
export class NotFoundError extends CampaignGuardError {
  override readonly name = 'NotFoundError';
}

/** The change collides with existing state (identity bound elsewhere, name taken, lost a race). */
export class ConflictError extends CampaignGuardError {
  override readonly name = 'ConflictError';
}

/** The directory could not be reached, timed out, or answered only partially. */
export class DirectoryUnavailableError extends CampaignGuardError {
  override readonly name = 'DirectoryUnavailableError';
}

/** A configured UID or GID range has no numbers left. */
export class RangeExhaustedError extends CampaignGuardError {
  override readonly name = 'RangeExhaustedError';
}

/** The caller is not allowed to do this. */
export class ForbiddenError extends CampaignGuardError {
  override readonly name = 'ForbiddenError';
}
