import { expect } from 'chai';
import fc from 'fast-check';
import { accountSuffix, accountSuffixInto, dnPredicate, formatGridMapLine, formatLine, oidcPredicate, quote, unrepresentable } from '../../../mapper-agent/map/multimap-format.js';

describe('mapper-agent/map/multimap-format', () => {
  const line = (predicate: string, secondaryGids: number[] = [30042]) => formatLine({ predicate, username: 'alice', uid: 10001, primaryGid: 20001, secondaryGids });

  it('writes the documented line: quoted predicate, username, uid, one primary gid, secondary gids', () => {
    expect(line('dn:/C=DE/O=Example/CN=Alice Smith')).to.equal('"dn:/C=DE/O=Example/CN=Alice Smith" username:alice uid:10001 gid:20001,true gid:30042');
    expect(line('oidc:5c1f@iam', [])).to.equal('"oidc:5c1f@iam" username:alice uid:10001 gid:20001,true');
    expect(line('dn:/CN=x', [20001, 30001, 30002])).to.equal('"dn:/CN=x" username:alice uid:10001 gid:20001,true gid:30001 gid:30002');
  });

  it('escapes backslash and double quote inside the one quoted token, and nothing else', () => {
    expect(quote('dn:/CN=a"b\\c')).to.equal('"dn:/CN=a\\"b\\\\c"');
    for (const tricky of [`/O=O'Brien/CN=x`, '/CN=-leading', '/CN=# not a comment', '/O=Acme, Inc./CN=a,b', '/CN=J\\xC3\\xBCrgen', '/CN=x/emailAddress=a@b.org', '/CN=a b  c']) {
      expect(line(dnPredicate(tricky) as string)).to.match(/^"dn:/).and.include(tricky.replace(/\\/g, '\\\\'));
    }
  });

  it('refuses values the file cannot hold faithfully', () => {
    expect(unrepresentable('a\nb')).to.match(/control/);
    expect(unrepresentable('a\u0000')).to.match(/control/);
    expect(unrepresentable('\uD800x')).to.match(/surrogate/);
    expect(unrepresentable('')).to.match(/empty/);
    expect(unrepresentable('Jürgen 😀')).to.equal(undefined);
    expect(dnPredicate('CN=no-slash')).to.deep.equal({ refused: 'a grid DN starts with /' });
  });

  it('builds oidc:SUB@ALIAS with dCache splitting at the last @, and refuses non-ASCII or long subjects', () => {
    expect(oidcPredicate('user@home.org', 'iam')).to.equal('oidc:user@home.org@iam');
    expect('oidc:user@home.org@iam'.slice('oidc:'.length).split(/@(?=[^@]*$)/)).to.deep.equal(['user@home.org', 'iam']);
    expect(oidcPredicate('jürgen', 'iam')).to.have.property('refused').that.matches(/ASCII/);
    expect(oidcPredicate('x'.repeat(256), 'iam')).to.have.property('refused').that.matches(/255/);
    expect(oidcPredicate('x'.repeat(255), 'iam')).to.be.a('string');
    expect(oidcPredicate('x', 'bad alias')).to.have.property('refused');
  });

  it('refuses usernames and ids that are not POSIX', () => {
    expect(() => formatLine({ predicate: 'dn:/CN=x', username: 'Alice Smith', uid: 1, primaryGid: 1, secondaryGids: [] })).to.throw(/POSIX name/);
    expect(() => formatLine({ predicate: 'dn:/CN=x', username: 'a', uid: -1, primaryGid: 1, secondaryGids: [] })).to.throw(/POSIX id/);
  });

  it('writes an account\'s suffix into a buffer: never past its end, -1 when it may not fit, the text the same bytes, the same refusals (property)', () => {
    const id = fc.oneof(fc.nat({ max: 0xfffffffe }), fc.constantFrom(0, 9, 10, 99, 100, 0xfffffffe, 0xffffffff, -1, 1.5));
    const username = fc.oneof(fc.constantFrom('alice', 'a', 'x.y-z_0', 'a'.repeat(32)), fc.constantFrom('Alice', '', '1a', 'a'.repeat(33), 'a b'));
    fc.assert(fc.property(username, id, id, fc.array(id, { maxLength: 5 }), fc.nat({ max: 8 }), (user, uid, gid, gids, at) => {
      const out = Buffer.alloc(256, 0x2a);
      let text: string | Error;
      try {
        text = accountSuffix(user, uid, gid, gids);
      } catch (err) {
        text = err as Error;
      }
      if (text instanceof Error) return void expect(() => accountSuffixInto(out, at, user, uid, gid, gids)).to.throw(text.message);
      const end = accountSuffixInto(out, at, user, uid, gid, gids);
      expect(out.toString('utf8', at, end)).to.equal(text);
      expect(out[end], 'nothing written past the end').to.equal(0x2a);
      expect(accountSuffixInto(Buffer.alloc(text.length - 1), 0, user, uid, gid, gids), 'too short: -1').to.equal(-1);
    }), { seed: 3, numRuns: 500 });
  });

  it('writes grid-mapfile lines and refuses a DN with a double quote there', () => {
    expect(formatGridMapLine('/C=DE/CN=Alice', 'alice')).to.equal('"/C=DE/CN=Alice" alice');
    expect(formatGridMapLine('/CN=a"b', 'alice')).to.have.property('refused');
  });
});
