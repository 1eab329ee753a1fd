/**
 * The map builder's memory at any size without a directory server: the benchmark directory's
 * entries (bench/directory-fixture.ts: N accounts with 2 certificate subjects each, M OIDC
 * identities, C campaigns) are generated as attribute maps, decoded by core/directory/decode.ts
 * and streamed through the same account table, builder and atomic writer as a sync, in the order
 * the server would send them. Run as its own process (bench/mapper-sync.ts measures its peak RSS
 * with GNU time): `node dist/bench/map-memory-probe.js ACCOUNTS OIDC CAMPAIGNS OUTFILE`.
 * What it leaves out is the LDAP reading itself (sockets, BER), which keeps nothing per entry.
 */
import { identityKey } from '../core/directory/layout.js';
import { DirectoryLayout } from '../core/directory/layout.js';
import { decodeCampaign, decodeIdentity, decodePerson } from '../core/directory/decode.js';
import { isActive } from '../core/directory/status.js';
import { DEFAULT_BASE_DN } from '../core/ldap/config.js';
import { AccountTable } from '../mapper-agent/map/account-table.js';
import { buildMap } from '../mapper-agent/map/build.js';
import { replaceFileAtomically } from '../mapper-agent/map/atomic-write.js';
import type { MapIdentity } from '../mapper-agent/map/directory-reader.js';

const [accounts, oidc, campaigns] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const out = process.argv[5]!;
const layout = new DirectoryLayout(DEFAULT_BASE_DN);
const people = layout.people;
const attrs = (o: Record<string, string | string[]>) => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]));

const table = new AccountTable();
for (let c = 0; c < campaigns; c++) {
  const members = new Set<string>();
  for (let i = c; i < accounts; i += campaigns) members.add(`user${i}`).add(`user${(i * 7 + 3) % accounts}`);
  const campaign = decodeCampaign(`cn=campaign${c},${layout.campaigns}`, attrs({ cn: `campaign${c}`, gidNumber: `${400000 + c}`, memberUid: [...members] }), layout);
  if (typeof campaign === 'string') throw new Error(campaign);
  for (const m of campaign.members) table.addMembership(m, campaign.gidNumber);
}
for (let i = 0; i < accounts; i++) {
  const u = `user${i}`;
  const p = decodePerson(`uid=${u},${people}`, attrs({ uid: u, uidNumber: `${10000 + i}`, gidNumber: `${200000 + i}`, voPersonStatus: 'active' }), layout);
  if (typeof p === 'string') throw new Error(p);
  table.setPerson(p.username, p.uidNumber, p.gidNumber, isActive(p.status));
}
table.seal();

function* identities(): Generator<[string, Map<string, string[]>]> {
  for (let i = 0; i < accounts; i++) {
    for (const n of [1, 2]) {
      const subject = `/DC=org/DC=terena/DC=tcs/C=DE/O=Example Institute ${i % 97}/CN=User Number ${i} cert ${n}`;
      const key = identityKey({ type: 'x509', subject });
      yield [`cgIdentityKey=${key},${layout.identities}`, attrs({ cgOwner: `uid=user${i},${people}`, cgIdentityType: 'x509', voPersonStatus: 'active', cgCertSubject: subject, cgCertNotAfter: '20300101000000Z' })];
    }
  }
  for (let i = 0; i < oidc; i++) {
    const subject = `${(i * 2654435761) >>> 0}-${i}-sub`;
    const key = identityKey({ type: 'oidc', issuer: 'https://iam.example.org/', subject });
    yield [`cgIdentityKey=${key},${layout.identities}`, attrs({ cgOwner: `uid=user${(i * 5) % accounts},${people}`, cgIdentityType: 'oidc', voPersonStatus: 'active', cgOidcIssuer: 'https://iam.example.org/', cgOidcSubject: subject })];
  }
}

const problems: string[] = [];
const built = await buildMap({
  accounts: table,
  problems,
  forEachIdentity: async (visit: (identity: MapIdentity) => void) => {
    for (const [dn, a] of identities()) {
      const identity = decodeIdentity(dn, a, layout);
      if (typeof identity === 'string') problems.push(identity);
      else visit(identity);
    }
  },
}, { oidcAliases: { 'https://iam.example.org/': 'iam' } });
const written = replaceFileAtomically(out, built.writeMultimap, { force: true });
console.log(JSON.stringify({ lines: built.lines, written: written.newLines, problems: problems.length }));
