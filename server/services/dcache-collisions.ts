/**
 * An identity is refused when dCache would let another account's login match its map line, or its
 * login match another account's line — the same cross-type rules the agent applies to the map
 * (mapper-agent/map/build.ts leaveOutMergedCrossMatches, from dCache's GplazmaMultiMapFile):
 *  - a `dn:X` line matches any principal named X, and an OIDC login is named `sub@alias`;
 *  - an `oidc:S@A` line also matches a login, from any provider, whose sub is the whole "S@A".
 * The portal knows each provider's gPlazma alias from `portal.oidcProviders[].gplazmaAlias`;
 * without it the check is the agent's alone (which leaves both lines out and reports them).
 */
import type { Directory, IdentityInput } from '../../core/directory/index.js';
import { ConflictError, ValidationError } from '../../core/errors.js';

/** issuer URL -> gPlazma alias, as configured for the portal's OpenID providers. */
export type GplazmaAliases = Map<string, string>;

const norm = (issuer: string) => issuer.replace(/\/+$/, '');

export async function refuseDcacheCollisions(directory: Directory, input: IdentityInput, ownerDn: string, aliases: GplazmaAliases | undefined): Promise<void> {
  if (!aliases?.size) return;
  const byIssuer = new Map([...aliases].map(([i, a]) => [norm(i), a]));
  const other = async (ref: Parameters<Directory['identities']['get']>[0]) => {
    // A name that cannot be a bound identity (e.g. "sub@alias" that is no grid DN) is nobody's.
    const found = await directory.identities.get(ref).catch((err: unknown) => {
      if (err instanceof ValidationError) return undefined;
      throw err;
    });
    return found && found.ownerDn.toLowerCase() !== ownerDn.toLowerCase() ? found : undefined;
  };
  const refuse = (why: string): never => {
    throw new ConflictError(`dCache would not keep this identity apart from another account's: ${why}. Ask the data centre`);
  };
  // Login name `${sub}@${alias}` of an OIDC identity of provider alias `alias`, for each configured provider.
  const providers = [...aliases]; // issuers as configured: identities are keyed by the issuer exactly as the provider states it
  if (input.type === 'x509') {
    for (const [issuer, alias] of providers) {
      if (!input.subject.endsWith(`@${alias}`)) continue;
      const sub = input.subject.slice(0, -(alias.length + 1));
      if (await other({ type: 'oidc', issuer, subject: sub })) refuse(`an OIDC login of ${alias} named ${input.subject} would match this certificate's dn: line`);
    }
    return;
  }
  const alias = byIssuer.get(norm(input.issuer));
  if (alias && (await other({ type: 'x509', subject: `${input.subject}@${alias}` }))) refuse(`this OIDC login is named ${input.subject}@${alias}, which is another account's certificate subject`);
  for (const [issuer, a] of providers) {
    // Our login (sub T) matches their line oidc:S@A when T is the whole "S@A".
    if (input.subject.endsWith(`@${a}`) && (await other({ type: 'oidc', issuer, subject: input.subject.slice(0, -(a.length + 1)) }))) {
      refuse(`this sub ${input.subject} would match another account's line oidc:${input.subject}`);
    }
    // Their login (sub "T@alias" at any provider) matches our line oidc:T@alias.
    if (alias && (await other({ type: 'oidc', issuer, subject: `${input.subject}@${alias}` }))) {
      refuse(`another account's sub ${input.subject}@${alias} would match this identity's line`);
    }
  }
}
