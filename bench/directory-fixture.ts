/**
 * A large directory for benchmarks, bulk-loaded offline with slapadd (the way a site would load
 * an export): N accounts with 2 certificate subjects each, M OIDC identities, C campaigns with
 * members. Entries use the project's schema and layout exactly as the portal writes them.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { identityKey } from '../core/directory/layout.js';
import { startManagedSlapd, type ManagedSlapd } from '../core/ldap/managed-slapd.js';

export interface FixtureSize {
  accounts: number;
  oidc: number;
  campaigns: number;
}

export async function loadLargeDirectory(dir: string, size: FixtureSize): Promise<ManagedSlapd> {
  const first = await startManagedSlapd({ dir });
  const baseDn = first.baseDn;
  await first.stop();

  const ldif = join(dir, 'bench.ldif');
  const out = createWriteStream(ldif);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  const people = `ou=people,${baseDn}`;
  for (let i = 0; i < size.accounts; i++) {
    const u = `user${i}`;
    await write(`dn: uid=${u},${people}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: cgPerson\nuid: ${u}\ncn: User ${i}\nsn: ${i}\n` +
      `uidNumber: ${10000 + i}\ngidNumber: ${200000 + i}\nhomeDirectory: /home/${u}\nvoPersonStatus: active\n\n`);
    for (const n of [1, 2]) {
      const subject = `/DC=org/DC=terena/DC=tcs/C=DE/O=Example Institute ${i % 97}/CN=User Number ${i} cert ${n}`;
      const key = identityKey({ type: 'x509', subject });
      await write(`dn: cgIdentityKey=${key},ou=identities,${baseDn}\nobjectClass: cgIdentity\ncgIdentityKey: ${key}\ncgOwner: uid=${u},${people}\n` +
        `cgIdentityType: x509\nvoPersonStatus: active\ncgCertSubject: ${subject}\ncgCertIssuer: /DC=org/DC=terena/DC=tcs/CN=TCS Personal CA\ncgCertNotAfter: 20300101000000Z\n\n`);
    }
  }
  for (let i = 0; i < size.oidc; i++) {
    const subject = `${(i * 2654435761) >>> 0}-${i}-sub`;
    const key = identityKey({ type: 'oidc', issuer: 'https://iam.example.org/', subject });
    await write(`dn: cgIdentityKey=${key},ou=identities,${baseDn}\nobjectClass: cgIdentity\ncgIdentityKey: ${key}\ncgOwner: uid=user${(i * 5) % size.accounts},${people}\n` +
      `cgIdentityType: oidc\nvoPersonStatus: active\ncgOidcIssuer: https://iam.example.org/\ncgOidcSubject: ${subject}\n\n`);
  }
  for (let c = 0; c < size.campaigns; c++) {
    const members: string[] = [];
    for (let i = c; i < size.accounts; i += size.campaigns) members.push(`memberUid: user${i}\nmemberUid: user${(i * 7 + 3) % size.accounts}\n`);
    await write(`dn: cn=campaign${c},ou=campaigns,${baseDn}\nobjectClass: posixGroup\nobjectClass: cgCampaign\ncn: campaign${c}\ngidNumber: ${400000 + c}\n` +
      `cgPrincipalInvestigator: uid=user${c},${people}\ncgCampaignState: open\ncgEmbargoEnd: 20300101000000Z\n${[...new Set(members)].join('')}\n`);
  }
  out.end();
  await once(out, 'finish');
  execFileSync('/usr/sbin/slapadd', ['-q', '-f', join(dir, 'slapd.conf'), '-l', ldif], { stdio: 'inherit' });
  return startManagedSlapd({ dir });
}
