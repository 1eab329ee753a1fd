/**
 * What an operator should know about the portal's trust, CA by CA, seen as dCache would see it:
 * CAs without namespace policy (refused under the _REQUIRE namespace modes, dCache's default),
 * CAs without a current CRL (refused under crl-mode REQUIRE, dCache's default), and trust files
 * that could not be read. Used by `campaign-guard doctor`.
 */
import { legacyOpensslDn, parseName } from '../../../core/identity/x509-name.js';
import type { CrlMode } from '../certificate-chain.js';
import type { NamespaceMode } from '../../../core/pki/namespace-check.js';
import type { TrustSnapshot } from '../../../core/pki/trust-directory.js';

export interface TrustFinding {
  ok: boolean;
  subject: string;
  detail: string;
}

export function reportTrust(t: TrustSnapshot, modes: { namespaceMode: NamespaceMode; crlMode: CrlMode }, now = new Date()): TrustFinding[] {
  const findings: TrustFinding[] = t.problems.map((p) => ({ ok: false, subject: '(file)', detail: p }));
  for (const ca of t.cas) {
    let subject: string;
    try {
      subject = legacyOpensslDn(parseName(ca.cert.subjectName.toArrayBuffer()));
    } catch {
      subject = ca.cert.subject;
    }
    const problems: string[] = [];
    const hasPolicy = ca.hash !== undefined && [...t.euGridPma, ...t.globus].some((p) => p.definedFor === ca.hash);
    if (!hasPolicy && modes.namespaceMode.endsWith('_REQUIRE')) problems.push(`no .namespaces or .signing_policy: its certificates are refused (namespace mode ${modes.namespaceMode})`);
    const crls = t.crls.filter((c) => Buffer.from(c.crl.issuerName.toArrayBuffer()).equals(Buffer.from(ca.cert.subjectName.toArrayBuffer())));
    const current = crls.filter((c) => !c.crl.nextUpdate || c.crl.nextUpdate >= now);
    if (modes.crlMode !== 'IGNORE') {
      if (!crls.length && modes.crlMode === 'REQUIRE') problems.push('no CRL: its certificates are refused (crl-mode REQUIRE); is fetch-crl running?');
      else if (crls.length && !current.length) problems.push(`CRL out of date since ${crls.map((c) => c.crl.nextUpdate?.toISOString()).sort().pop()}: its certificates are refused; is fetch-crl running?`);
    }
    if (ca.cert.notAfter < now) problems.push(`expired on ${ca.cert.notAfter.toISOString()}`);
    const next = current.map((c) => c.crl.nextUpdate?.toISOString() ?? 'none').sort().pop();
    findings.push({
      ok: problems.length === 0, subject,
      detail: problems.length ? problems.join('; ') : `${ca.hash ? `${ca.hash}, ` : ''}policy ${hasPolicy ? 'present' : 'none'}, CRL next update ${next ?? '-'}`,
    });
  }
  return findings;
}
