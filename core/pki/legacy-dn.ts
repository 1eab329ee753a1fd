/**
 * The "normalized OpenSSL legacy DN" that CA namespace policies are written against and compared
 * with, as CANL computes it (eu-emi/canl-java `OpensslNameUtils.normalize`): every `/LABEL=` has its
 * label mapped through CANL's NORMALIZED_LABELS table (case-insensitive), then the whole string is
 * lower-cased. Globus signing policies use shell-style wildcards, turned into a regular expression
 * by `GlobusNamespacesParser.makeRegexpClassicWildcard`: `*` any run, `?` one character, everything
 * else literal.
 */

/** canl-java OpensslNameUtils.NORMALIZED_LABELS, keys lower-case. */
const NORMALIZED_LABELS: Record<string, string> = {
  e: 'emailAddress',
  email: 'emailAddress',
  userid: 'UID',
  sn: 'serialnumber',
  surname: 'sn',
  givenname: 'gn',
  dn: 'dnQualifier',
  dnq: 'dnQualifier',
  uniqueidentifier: 'x500UniqueIdentifier',
  generation: 'generationQualifier',
  s: 'ST',
  ip: '1.3.6.1.4.1.42.2.11.2.1',
  nameatbirth: '1.3.36.8.3.14',
};

/** OpensslNameUtils.normalize: labels of every `/LABEL=` normalized, then lower-case (Java's toLowerCase on the whole string). */
export function normalizeLegacyDn(dn: string): string {
  return dn.replace(/\/[^=]+=/g, (m) => `/${NORMALIZED_LABELS[m.slice(1, -1).toLowerCase()] ?? m.slice(1, -1)}=`).toLowerCase();
}

/** GlobusNamespacesParser.makeRegexpClassicWildcard: a wildcard pattern as a regular expression source (not anchored). */
export function wildcardToRegExpSource(pattern: string): string {
  let out = '';
  for (const ch of pattern) out += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  return out;
}
