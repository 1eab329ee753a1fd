import { expect } from 'chai';
import { buildMap, MULTIMAP_HEADER, render, type BuiltMap } from '../../../mapper-agent/map/build.js';

const multimap = (m: BuiltMap) => render(m.writeMultimap);
import type { DirectorySnapshot, MapAccount, MapIdentity } from '../../../mapper-agent/map/directory-reader.js';
import { fromGeneralizedTime } from '../../../core/directory/time.js';

const account = (username: string, uid: number, gids: number[] = [], active = true): [string, MapAccount] => [
  username, { username, uidNumber: uid, gidNumber: uid + 100000, active, campaignGids: gids },
];
/** An identity as the map reader yields it (core/directory/decode.ts); notAfter as GeneralizedTime. */
const x509 = (owner: string, subject: string, extra: { active?: boolean; notAfter?: string } = {}): MapIdentity => ({
  dn: '', key: '', type: 'x509', ref: { type: 'x509', subject }, ownerDn: '', owner, status: extra.active === false ? 'revoked' : 'active',
  certSubject: subject, ...(extra.notAfter ? { certNotAfter: fromGeneralizedTime(extra.notAfter) } : {}),
});
const oidc = (owner: string, issuer: string, subject: string): MapIdentity => ({
  dn: '', key: '', type: 'oidc', ref: { type: 'oidc', issuer, subject }, ownerDn: '', owner, status: 'active', oidcIssuer: issuer, oidcSubject: subject,
});

function snapshot(accounts: [string, MapAccount][], pages: MapIdentity[][], problems: string[] = []): DirectorySnapshot {
  return { accounts: new Map(accounts), forEachIdentity: async (visit) => pages.flat().forEach(visit), problems };
}

describe('mapper-agent/map/build', () => {
  const aliases = { 'https://iam.example.org/': 'iam' };
  const now = new Date('2026-11-24T00:00:00Z');

  it('writes one sorted line per identity and is byte-identical for the same input in another order', async () => {
    const accounts = [account('alice', 10001, [30001, 30002]), account('bob', 10002)];
    const ids = [x509('bob', '/C=DE/CN=Bob'), x509('alice', '/C=DE/CN=Alice'), oidc('alice', 'https://iam.example.org/', 'a-sub')];
    const a = await buildMap(snapshot(accounts, [ids]), { oidcAliases: aliases, now });
    const b = await buildMap(snapshot([...accounts].reverse(), [[ids[2]!], [ids[1]!, ids[0]!]]), { oidcAliases: aliases, now });
    expect(multimap(a)).to.equal(multimap(b));
    expect(multimap(a)).to.equal(MULTIMAP_HEADER + [
      '"dn:/C=DE/CN=Alice" username:alice uid:10001 gid:110001,true gid:30001 gid:30002',
      '"dn:/C=DE/CN=Bob" username:bob uid:10002 gid:110002,true',
      '"oidc:a-sub@iam" username:alice uid:10001 gid:110001,true gid:30001 gid:30002',
    ].join('\n') + '\n');
  });

  it('leaves out suspended accounts, revoked identities, orphans and unaliased issuers; keeps a DN whose last certificate expired', async () => {
    const m = await buildMap(snapshot(
      [account('alice', 10001), account('sam', 10003, [], false)],
      [[
        x509('sam', '/CN=Sam'),
        x509('alice', '/CN=Alice revoked', { active: false }),
        x509('alice', '/CN=Alice expired', { notAfter: '20260101000000Z' }),
        x509('alice', '/CN=Alice valid', { notAfter: '20270101000000Z' }),
        x509('ghost', '/CN=Ghost'),
        oidc('alice', 'https://unknown.example.org/', 'sub1'),
      ]],
    ), { oidcAliases: aliases, now });
    // dCache refuses an expired certificate at TLS; a renewed one keeps the subject and must still map.
    expect(multimap(m).split('\n').filter((l) => l && !l.startsWith('#'))).to.deep.equal([
      '"dn:/CN=Alice expired" username:alice uid:10001 gid:110001,true',
      '"dn:/CN=Alice valid" username:alice uid:10001 gid:110001,true',
    ]);
    expect(m.skipped).to.deep.equal({ suspended: 1, revoked: 1, orphaned: 1, unmapped: 1, conflicting: 0, invalid: 0 });
    expect(m.problems.join('\n')).to.match(/Ghost/).and.match(/no gPlazma alias/);
  });

  it('leaves out a key claimed by two accounts, for both, and says so', async () => {
    // Two issuers configured with one alias produce the same oidc:SUB@ALIAS key.
    const m = await buildMap(snapshot([account('alice', 10001), account('bob', 10002)], [[
      oidc('alice', 'https://iam.example.org/', 'same'), oidc('bob', 'https://other.example.org/', 'same'), x509('bob', '/CN=Bob'),
    ]]), { oidcAliases: { ...aliases, 'https://other.example.org/': 'iam' }, now });
    expect(multimap(m)).to.not.include('oidc:same');
    expect(multimap(m)).to.include('"dn:/CN=Bob" username:bob');
    expect(m.problems.join()).to.match(/claimed by both alice and bob/);
  });

  it('reports unrepresentable values instead of writing them, and writes the optional outputs', async () => {
    const m = await buildMap(snapshot([account('alice', 10001)], [[x509('alice', '/CN=line\nbreak'), x509('alice', '/CN=say "hi"')]], ['cgIdentityKey=abc: unreadable cgCertNotAfter']),
      { oidcAliases: aliases, now });
    expect(multimap(m)).to.not.include('line');
    expect(multimap(m)).to.include('"dn:/CN=say \\"hi\\"" username:alice');
    expect(render(m.writeGridMapfile)).to.equal('');
    expect(m.problems.join('\n')).to.match(/control character/).and.match(/grid-mapfile cannot hold/).and.match(/unreadable cgCertNotAfter/);
    expect(JSON.parse(render(m.writeJson))).to.deep.equal([{ key: 'dn:/CN=say "hi"', kind: 'x509', username: 'alice', uid: 10001, gid: 110001, gids: [] }]);
  });
});
