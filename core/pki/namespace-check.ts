/**
 * CA namespace enforcement as CANL does it (eu-emi/canl-java `NamespaceChecker`,
 * `NamespaceCheckingMode`, `AbstractEuGridPmaNamespacesStore.getPolicies`,
 * `AbstractGlobusNamespacesStore.getPolicies`), with dCache's mode names
 * (`dcache.authn.namespace-mode`, default EUGRIDPMA_AND_GLOBUS_REQUIRE):
 *
 * - every certificate of the validated path except self-signed ones (the root) and proxies is
 *   checked against the policies that speak about its issuer;
 * - those policies are looked for in the policy file of its issuer and then of each CA above
 *   (a root CA's file may speak for its sub-CAs): the first file that has policies naming the
 *   issuer (SELF counts only in the issuer's own file) gives the list;
 * - the subject must match a PERMIT and no DENY of that list;
 * - modes: which formats are read and in which order; `..._AND_...` enforces every format that has
 *   policies; `..._REQUIRE` refuses an issuer for which no format has any.
 */
import { normalizeLegacyDn } from './legacy-dn.js';
import type { NamespacePolicy } from './namespaces.js';

export const NAMESPACE_MODES = [
  'GLOBUS_EUGRIDPMA', 'EUGRIDPMA_GLOBUS', 'GLOBUS', 'EUGRIDPMA', 'GLOBUS_EUGRIDPMA_REQUIRE', 'EUGRIDPMA_GLOBUS_REQUIRE',
  'GLOBUS_REQUIRE', 'EUGRIDPMA_REQUIRE', 'EUGRIDPMA_AND_GLOBUS', 'EUGRIDPMA_AND_GLOBUS_REQUIRE', 'IGNORE',
] as const;
export type NamespaceMode = (typeof NAMESPACE_MODES)[number];

/** One certificate of a validated path, as the checker needs it. */
export interface PathCertificate {
  /** the legacy ('/'-separated AVAs) DN of the subject and of the issuer */
  subjectDn: string;
  issuerDn: string;
  selfSigned: boolean;
  proxy: boolean;
  /** the trust-directory hash of the CA that issued it, when that CA is in the trust directory */
  issuerHash?: string;
}

type Store = { kind: 'EUGridPMA' | 'Globus'; policies: NamespacePolicy[] };

export function namespaceStores(mode: NamespaceMode, euGridPma: NamespacePolicy[], globus: NamespacePolicy[]): { stores: Store[]; required: boolean; checkAll: boolean } {
  const globusEnabled = !['IGNORE', 'EUGRIDPMA', 'EUGRIDPMA_REQUIRE'].includes(mode);
  const pmaEnabled = !['IGNORE', 'GLOBUS', 'GLOBUS_REQUIRE'].includes(mode);
  const globusFirst = ['GLOBUS_REQUIRE', 'GLOBUS_EUGRIDPMA_REQUIRE', 'GLOBUS', 'GLOBUS_EUGRIDPMA'].includes(mode);
  const g: Store = { kind: 'Globus', policies: globus };
  const p: Store = { kind: 'EUGridPMA', policies: euGridPma };
  const stores = globusFirst ? [g, ...(pmaEnabled ? [p] : [])] : [...(pmaEnabled ? [p] : []), ...(globusEnabled ? [g] : [])];
  return { stores, required: mode.endsWith('_REQUIRE'), checkAll: mode.startsWith('EUGRIDPMA_AND_GLOBUS') };
}

/**
 * The policies of one format about the issuer of path[i]: walking up from that issuer, the first
 * CA file (by hash) that has policies naming it. `hashes[j]` is the trust-directory hash of path[j]'s issuer.
 */
function policiesFor(store: Store, path: PathCertificate[], i: number): NamespacePolicy[] {
  const issuer = normalizeLegacyDn(path[i]!.issuerDn);
  for (let j = i; j < path.length; j++) {
    const definedFor = path[j]!.issuerHash;
    if (definedFor === undefined) continue;
    const found = store.policies.filter((p) => p.definedFor === definedFor && ('self' in p.issuer ? j === i && store.kind === 'EUGridPMA' : p.issuer.dn === issuer));
    if (found.length) return found;
  }
  return [];
}

/** Every violation of the namespace policies on the path (empty: accepted). */
export function checkNamespaces(path: PathCertificate[], mode: NamespaceMode, euGridPma: NamespacePolicy[], globus: NamespacePolicy[]): string[] {
  const { stores, required, checkAll } = namespaceStores(mode, euGridPma, globus);
  if (!stores.length) return [];
  const errors: string[] = [];
  path.forEach((cert, i) => {
    if (cert.selfSigned || cert.proxy) return;
    let found = false;
    for (const store of stores) {
      const policies = policiesFor(store, path, i);
      if (!policies.length) continue;
      found = true;
      const subject = normalizeLegacyDn(cert.subjectDn);
      let permitted = false;
      for (const p of policies) {
        if (!p.subject.test(subject)) continue;
        if (p.permit) permitted = true;
        else errors.push(`${cert.subjectDn} is denied by the ${store.kind} namespace policy ${p.id} of its CA ${cert.issuerDn}`);
      }
      if (!permitted) errors.push(`${cert.subjectDn} is outside the namespace its CA ${cert.issuerDn} may issue (${store.kind} policies ${[...new Set(policies.map((p) => p.id))].join(', ')})`);
      if (!checkAll) break;
    }
    if (!found && required) errors.push(`the CA ${cert.issuerDn} has no namespace policy (.namespaces or .signing_policy), and dCache's namespace mode ${mode} requires one`);
  });
  return errors;
}
