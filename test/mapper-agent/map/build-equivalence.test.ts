/**
 * The builder that sorts and merges the claims at the end (build.ts) against the one it replaced
 * (reference-build.ts: a Map from key to account, conflicts found per claim): for the same
 * directory, the same bytes in every output and the same counts, problems (in order) and
 * explained keys. Inputs are drawn from small alphabets so that keys collide often: two accounts
 * claiming one key, a key claimed three times, DNs equal but for label case, OIDC values that are
 * also DNs or other accounts' subs, inactive owners and identities, orphans, unaliased issuers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { buildMap, render, type BuiltMap } from '../../../mapper-agent/map/build.js';
import { AccountTable } from '../../../mapper-agent/map/account-table.js';
import type { MapAccount, MapIdentity } from '../../../mapper-agent/map/directory-reader.js';
import { referenceBuildMap } from './reference-build.js';

const ISSUERS = ['https://iam.example.org/', 'https://iam.example.org', 'https://other.example.org/', 'https://twin.example.org/', 'https://unknown.example.org/'];
// twin has the same alias as iam: the same sub at both is one key.
const ALIASES = { 'https://iam.example.org/': 'iam', 'https://other.example.org/': 'other', 'https://twin.example.org/': 'iam' };
const NAMES = ['alice', 'bob', 'carol', 'dave', 'eve', 'ghost'];
/** Mostly active: a key claimed twice only conflicts between active accounts' active identities. */
const mostly = fc.constantFrom(true, true, true, false);

const dnPart = fc.constantFrom('/CN=a', '/a=x', '/A=x', '/CN=a@iam', '@iam', '/cn=a', '/CN=A', '/O=x@iam', '/o=x@iam', '/CN=say "hi"', '/CN=back\\slash', '/CN=line\nbreak', ' /CN=a', '/CN=a ', '/DC=org', '/CN=\u00e9', '/CN=\ud83d\ude00', '/CN=\uff21', 'CN=noslash');
const subject = fc.array(dnPart, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(''));
const oidcSub = fc.constantFrom('x', 'x@iam', 'x@iam@other', 'a', '/CN=a', '/cn=a', '/CN=a@iam', 'y@other', '\u00e9', 'tab\there', 'z'.repeat(256), '/O=x@iam');

const identity = fc.oneof(
  fc.record({ owner: fc.constantFrom(...NAMES), subject, forms: fc.array(subject, { maxLength: 2 }), active: mostly }).map(({ owner, subject: s, forms, active }): MapIdentity => ({
    dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner, status: active ? 'active' : 'revoked', certSubject: s,
    ...(forms.length ? { certSubjectForms: forms } : {}),
  })),
  fc.record({ owner: fc.constantFrom(...NAMES), issuer: fc.constantFrom(...ISSUERS), sub: oidcSub, active: mostly }).map(({ owner, issuer, sub, active }): MapIdentity => ({
    dn: '', key: '', type: 'oidc', ref: { type: 'oidc', issuer, subject: sub }, ownerDn: '', owner, status: active ? 'active' : 'suspended', oidcIssuer: issuer, oidcSubject: sub,
  })),
);

const accounts = fc.uniqueArray(
  fc.record({ username: fc.constantFrom(...NAMES.slice(0, 5)), active: mostly, gids: fc.array(fc.constantFrom(30001, 30002, 30003, 110001), { maxLength: 4 }) }),
  { selector: (a) => a.username, minLength: 2, maxLength: 5 },
);

function view(m: BuiltMap) {
  return {
    lines: m.lines, gridLines: m.gridLines, skipped: m.skipped, problems: m.problems, explained: [...m.explained].sort(),
    multimap: render(m.writeMultimap), grid: render(m.writeGridMapfile), json: render(m.writeJson),
  };
}

async function bothWays(list: { username: string; active: boolean; gids: number[] }[], identities: MapIdentity[], readerProblems: string[]) {
  const objects = new Map<string, MapAccount>(list.map((a, i) => [a.username, {
    username: a.username, uidNumber: 10001 + i, gidNumber: 110001 + i, active: a.active, campaignGids: [...a.gids].sort((x, y) => x - y),
  }]));
  // The reader's table: memberships first (in any order), then the people.
  const table = new AccountTable();
  for (const a of [...list].reverse()) for (const g of a.gids) table.addMembership(a.username, g);
  table.addMembership('ghost', 30001);
  for (const a of objects.values()) table.setPerson(a.username, a.uidNumber, a.gidNumber, a.active);
  table.seal();
  const stream = async (visit: (i: MapIdentity) => void) => identities.forEach(visit);
  const reference = await referenceBuildMap({ accounts: objects, forEachIdentity: stream, problems: [...readerProblems] }, { oidcAliases: ALIASES });
  const fromTable = await buildMap({ accounts: table, forEachIdentity: stream, problems: [...readerProblems] }, { oidcAliases: ALIASES });
  const fromMap = await buildMap({ accounts: objects, forEachIdentity: stream, problems: [...readerProblems] }, { oidcAliases: ALIASES });
  return { reference: view(reference), fromTable: view(fromTable), fromMap: view(fromMap) };
}

describe('mapper-agent/map/build: the same map as the reference builder', () => {
  it('same bytes, counts, problems (in order) and explained keys for any directory (property)', async () => {
    await fc.assert(fc.asyncProperty(accounts, fc.array(identity, { maxLength: 40 }), fc.array(fc.constantFrom('cgIdentityKey=1: bad', 'uid=x: bad'), { maxLength: 2 }), async (list, identities, readerProblems) => {
      const r = await bothWays(list, identities, readerProblems);
      expect(r.fromTable).to.deep.equal(r.reference);
      expect(r.fromMap).to.deep.equal(r.reference);
    }), { seed: 12, numRuns: 600 });
  });

  it('finds collisions at all (the property above is not vacuous)', async () => {
    const r = await bothWays(
      [{ username: 'alice', active: true, gids: [30001] }, { username: 'bob', active: true, gids: [] }, { username: 'carol', active: true, gids: [] }],
      [
        { dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: '/CN=a' }, ownerDn: '', owner: 'alice', status: 'active', certSubject: '/CN=a' },
        { dn: '', key: '', type: 'oidc', ref: { type: 'oidc', issuer: ISSUERS[0]!, subject: 'q' }, ownerDn: '', owner: 'carol', status: 'active' },
        { dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: '/CN=a' }, ownerDn: '', owner: 'bob', status: 'active', certSubject: '/CN=a' },
        { dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: '/cn=b' }, ownerDn: '', owner: 'alice', status: 'active', certSubject: '/cn=b' },
        { dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: '/CN=b' }, ownerDn: '', owner: 'bob', status: 'active', certSubject: '/CN=b' },
        { dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: '/CN=a' }, ownerDn: '', owner: 'alice', status: 'active', certSubject: '/CN=a' },
        { dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: '/CN=c' }, ownerDn: '', owner: 'ghost', status: 'active', certSubject: '/CN=c' },
      ],
      [],
    );
    expect(r.fromTable).to.deep.equal(r.reference);
    expect(r.reference.skipped.conflicting).to.equal(3);
    expect(r.reference.problems).to.have.length(3);
    expect(r.reference.problems[0]).to.match(/dn:\/CN=a: claimed by both alice and bob/);
    expect(r.reference.problems[1]).to.match(/ghost does not exist/);
    expect(r.reference.problems[2]).to.match(/the same key "\/CN=b"/);
  });

  it('visits OIDC keys for cross matches in the order of their first claim, as the reference does (a chain of three)', async () => {
    const oidcOf = (owner: string, issuer: string, sub: string): MapIdentity => ({ dn: '', key: '', type: 'oidc', ref: { type: 'oidc', issuer, subject: sub }, ownerDn: '', owner, status: 'active' });
    const dnOf = (owner: string, s: string): MapIdentity => ({ dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner, status: 'active', certSubject: s });
    // oidc:/CN=a@iam@other (alice) clashes with oidc:/CN=a@iam (bob), which clashes with dn:/CN=a@iam (carol): who is left depends on which is visited first.
    const people = ['alice', 'bob', 'carol'].map((username) => ({ username, active: true, gids: [] }));
    for (const identities of [
      [oidcOf('alice', ISSUERS[2]!, '/CN=a@iam'), oidcOf('bob', ISSUERS[0]!, '/CN=a'), dnOf('carol', '/CN=a@iam')],
      [oidcOf('bob', ISSUERS[0]!, '/CN=a'), oidcOf('alice', ISSUERS[2]!, '/CN=a@iam'), dnOf('carol', '/CN=a@iam')],
    ]) {
      const r = await bothWays(people, identities, []);
      expect(r.reference.lines).to.equal(1);
      expect(r.fromTable).to.deep.equal(r.reference);
    }
  });

  it('groups for the grid-mapfile only keys that are in the map: a key two accounts claim does not take a third one\'s out', async () => {
    const people = ['alice', 'bob', 'carol'].map((username) => ({ username, active: true, gids: [] }));
    const dnOf = (owner: string, s: string): MapIdentity => ({ dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner, status: 'active', certSubject: s });
    const r = await bothWays(people, [dnOf('alice', '/A=x'), dnOf('bob', '/A=x'), dnOf('carol', '/a=x')], []);
    expect(r.reference.grid).to.equal('"/a=x" carol\n');
    expect(r.fromTable).to.deep.equal(r.reference);
    // The lower-case label in the part of the DN the claims store once for many DNs (before its last /).
    const shared = await bothWays(people, [dnOf('alice', '/o=x/CN=a'), dnOf('bob', '/O=x/CN=a'), dnOf('carol', '/O=x/CN=c')], []);
    expect(shared.reference.grid).to.equal('"/O=x/CN=c" carol\n');
    expect(shared.fromTable).to.deep.equal(shared.reference);
  });

  it('takes the claims of one key in arrival order however many there are (past the sort\'s small-range cut-off)', async () => {
    const people = ['alice', 'bob', 'carol'].map((username) => ({ username, active: true, gids: [] }));
    const dnOf = (owner: string, s: string): MapIdentity => ({ dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner, status: 'active', certSubject: s });
    for (const length of [40, 80]) {
      const identities = Array.from({ length }, (_, i) => dnOf(i < 3 ? 'bob' : ['alice', 'carol'][i % 2]!, i % 4 === 3 ? `/CN=k${i}` : '/CN=same'));
      const r = await bothWays(people, identities, []);
      expect(r.reference.problems[0]).to.match(/claimed by both bob and alice/);
      expect(r.fromTable).to.deep.equal(r.reference);
    }
  });

  it('the same with more distinct DN heads than the builder keeps shared (values past the limit stored whole)', async () => {
    const people = ['alice', 'bob'].map((username) => ({ username, active: true, gids: [] }));
    const dnOf = (owner: string, s: string): MapIdentity => ({ dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner, status: 'active', certSubject: s });
    const identities: MapIdentity[] = [];
    for (let i = 0; i < 4500; i++) identities.push(dnOf('alice', `/O=org ${i % 4400}/CN=p${i % 3}`));
    // Claimed again by bob, heads inside and past the limit: conflicts found either way.
    for (const i of [0, 17, 4095, 4096, 4399, 4420]) identities.push(dnOf('bob', `/O=org ${i % 4400}/CN=p${i % 3}`));
    const r = await bothWays(people, identities, []);
    expect(r.reference.skipped.conflicting).to.be.greaterThan(6);
    expect(r.fromTable).to.deep.equal(r.reference);
  });

  it('same bytes on a benchmark-shaped directory (2 DNs per account, OIDC identities, campaigns)', async () => {
    const n = 3000;
    const list = Array.from({ length: n }, (_, i) => ({ username: `user${i}`, active: i % 37 !== 0, gids: [400000 + (i % 50), 400000 + ((i * 7 + 3) % 50)] }));
    const identities: MapIdentity[] = [];
    for (let i = 0; i < n; i++) {
      for (const c of [1, 2]) {
        const s = `/DC=org/DC=terena/DC=tcs/C=DE/O=Example Institute ${i % 97}/CN=User Number ${i} cert ${c}`;
        identities.push({ dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner: `user${i}`, status: 'active', certSubject: s });
      }
    }
    for (let i = 0; i < n / 5; i++) {
      const sub = `${(i * 2654435761) >>> 0}-${i}-sub`;
      identities.push({ dn: '', key: '', type: 'oidc', ref: { type: 'oidc', issuer: ISSUERS[0]!, subject: sub }, ownerDn: '', owner: `user${(i * 5) % n}`, status: 'active' });
    }
    const r = await bothWays(list, identities, []);
    expect(r.reference.lines).to.be.greaterThan(2 * n);
    expect(r.reference.multimap.length, 'the lines span several of the writer\'s 64 KiB chunks').to.be.greaterThan(4 << 16);
    expect(r.fromTable).to.deep.equal(r.reference);
  });

  it('the same bytes for keys to escape and lines longer than the writer\'s 64 KiB chunk (written as text)', async () => {
    const people = ['alice', 'bob'].map((username, i) => ({ username, active: true, gids: Array.from({ length: 3000 * i }, (_, g) => 500000 + g) }));
    const dnOf = (owner: string, s: string): MapIdentity => ({ dn: '', key: '', type: 'x509', ref: { type: 'x509', subject: s }, ownerDn: '', owner, status: 'active', certSubject: s });
    const identities = [
      dnOf('alice', `/CN=${'"\\'.repeat(20000)}`), // 40k characters fit a chunk, escaped (80k) they do not
      dnOf('alice', `/CN=${'x'.repeat(70000)}`), // the key alone is longer than a chunk
      dnOf('bob', '/CN=bob'), // bob's suffix (3,000 campaign gids, ~36 KB) and the key before it overflow a chunk
      dnOf('bob', `/CN=bob ${'\u00e9'.repeat(20000)}`),
      dnOf('alice', '/CN=a "quoted" \\ name'),
    ];
    const r = await bothWays(people, identities, []);
    expect(r.reference.lines).to.equal(5);
    expect(r.fromTable).to.deep.equal(r.reference);
    expect(r.fromMap).to.deep.equal(r.reference);
  });
});
