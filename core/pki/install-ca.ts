/**
 * Lays a CA into a trust directory the way the IGTF distribution and fetch-crl do: HASH.0 (the
 * certificate), HASH.r0 (its CRL), HASH.namespaces and HASH.signing_policy (what it may issue), where
 * HASH is OpenSSL's subject hash. The demo uses it for its own CA; sites get theirs from the IGTF
 * packages (ca-policy-egi-core) and fetch-crl.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { legacyOpensslDn, parseName } from '../identity/x509-name.js';
import { opensslSubjectHash } from './subject-hash.js';

export interface CaFiles {
  /** the CA certificate, PEM */
  certPem: string;
  /** its CRL, PEM */
  crlPem?: string;
  /** subjects it may issue, as a regular expression over the legacy DN (EUGridPMA) and a wildcard (Globus), e.g. /DC=org/DC=example/ */
  namespacePrefix?: string;
}

/** Write the CA's files into `dir`; returns its hash. */
export function installCa(dir: string, ca: CaFiles): string {
  const cert = new x509.X509Certificate(ca.certPem);
  const hash = opensslSubjectHash(cert.subjectName.toArrayBuffer());
  writeFileSync(join(dir, `${hash}.0`), ca.certPem);
  if (ca.crlPem) writeFileSync(join(dir, `${hash}.r0`), ca.crlPem);
  if (ca.namespacePrefix !== undefined) {
    const prefix = ca.namespacePrefix;
    writeFileSync(join(dir, `${hash}.namespaces`), `#NAMESPACES-VERSION: 1.0\nTO Issuer SELF PERMIT Subject "${prefix.replace(/[.\\[\]()*+?^$|{}]/g, '\\$&')}.*"\n`);
    const subject = legacyOpensslDn(parseName(cert.subjectName.toArrayBuffer()));
    writeFileSync(join(dir, `${hash}.signing_policy`), `access_id_CA X509 '${subject}'\npos_rights globus CA:sign\ncond_subjects globus '"${prefix}*"'\n`);
  }
  return hash;
}
