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

  // dCache modules/gplazma2-multimap GplazmaMultiMapFile: `dn:` is GlobusPrincipal(X)::equals, and
  // SimplePrincipal.equals compares names with any principal type; OidcSubjectPrincipal.getName() is
  // "sub@op"; the `oidc:` matcher also accepts a sub claim equal to the whole value ("backwards compatibility").
  it('leaves out, for both accounts, lines another account\'s login would match in dCache, naming both', async () => {
    const iam = 'https://iam.example.org/';
    const other = 'https://other.example.org/';
    const m = await buildMap(snapshot([account('victim', 10001), account('mallory', 10002), account('eve', 10003), account('carol', 10004), account('dave', 10005)], [[
      x509('victim', '/DC=org/CN=alice@iam'),
      // mallory's OIDC login is named sub@alias = "/DC=org/CN=alice@iam": the victim's dn: line matches it.
      oidc('mallory', iam, '/DC=org/CN=alice'),
      // eve's sub "x@iam" (at another provider) equals the whole value of carol's line oidc:x@iam.
      oidc('carol', iam, 'x'),
      oidc('eve', other, 'x@iam'),
      oidc('dave', iam, 'dave-sub'),
    ]]), { oidcAliases: { [iam]: 'iam', [other]: 'other' }, now });
    expect(multimap(m).split('\n').filter((l) => l && !l.startsWith('#'))).to.deep.equal(['"oidc:dave-sub@iam" username:dave uid:10005 gid:110005,true']);
    expect(m.skipped.conflicting).to.equal(4);
    const why = m.problems.join('\n');
    expect(why).to.include("a login of mallory (oidc:/DC=org/CN=alice@iam) would also match victim's dn:/DC=org/CN=alice@iam");
    expect(why).to.include("a login of eve (oidc:x@iam@other) would also match carol's oidc:x@iam");
  });

  it('writes a line per grid DN dCache may compute for a subject (JDK 21 and JDK 17 forms), and leaves a form another account holds out for both', async () => {
    const withForms = (owner: string, subject: string, forms: string[]): MapIdentity => ({ ...x509(owner, subject), certSubjectForms: forms });
    const m = await buildMap(snapshot([account('bea', 10001), account('carl', 10002)], [[
      withForms('bea', '/C=DE/CN=B\\xC3\\xA9a', ['/C=DE/CN=B\\xEF\\xBF\\xBDa']),
      withForms('carl', '/C=DE/CN=Carl', ['/C=DE/CN=C\\xEF\\xBF\\xBDrl']),
      x509('bea', '/C=DE/CN=C\\xEF\\xBF\\xBDrl'),
    ]]), { oidcAliases: aliases, now });
    expect(multimap(m).split('\n').filter((l) => l && !l.startsWith('#'))).to.deep.equal([
      '"dn:/C=DE/CN=B\\\\xC3\\\\xA9a" username:bea uid:10001 gid:110001,true',
      '"dn:/C=DE/CN=B\\\\xEF\\\\xBF\\\\xBDa" username:bea uid:10001 gid:110001,true',
      '"dn:/C=DE/CN=Carl" username:carl uid:10002 gid:110002,true',
    ]);
    expect(m.problems.join()).to.match(/claimed by both carl and bea/);
  });

  it('leaves DNs that differ only in /LABEL= case out of the grid-mapfile (dCache <= 11.2 GridMapFile.capitalizeLabels)', async () => {
    const m = await buildMap(snapshot([account('alice', 10001), account('bob', 10002)], [[
      x509('alice', '/CN=gm/role=a'), x509('bob', '/CN=gm/ROLE=a'), x509('alice', '/cn=Alice'), x509('alice', '/CN=Alice'),
    ]]), { oidcAliases: aliases, now });
    expect(render(m.writeGridMapfile).split('\n').filter(Boolean)).to.deep.equal(['"/CN=Alice" alice', '"/cn=Alice" alice']);
    expect(multimap(m)).to.include('"dn:/CN=gm/role=a" username:alice').and.include('"dn:/CN=gm/ROLE=a" username:bob');
    expect(m.problems.join('\n')).to.match(/the same key "\/CN=gm\/ROLE=a" in a grid-mapfile/);
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
