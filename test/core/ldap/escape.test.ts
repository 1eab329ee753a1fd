import { expect } from 'chai';
import { Filter } from 'ldapts';
import { childDn, escapeDnValue, escapeFilterValue, filter, firstRdnValue } from '../../../core/ldap/escape.js';
import { ValidationError } from '../../../core/errors.js';
import { useManagedSlapd } from '../../support/slapd.js';

const HOSTILE = [
  '*', '(', ')', '\\', '\u0000', ',', '+', '"', '#lead', ' lead', 'trail ', '=', ';', '<', '>',
  'J\u00fcrgen \u6f22\u5b57 \u{1f600}', '*)(uid=*))(|(uid=*', 'x,ou=people', 'a\\2a', '# ', '  ', 'a\u0000*b',
];

describe('core/ldap/escape', function () {
  this.timeout(20000);

  it('escapes RFC 4515 filter metacharacters and nothing else', () => {
    expect(escapeFilterValue('*()\\\u0000')).to.equal('\\2a\\28\\29\\5c\\00');
    expect(escapeFilterValue('J\u00fcrgen, a=b+c')).to.equal('J\u00fcrgen, a=b+c');
    expect(filter`(&(uid=${'a*'})(cn=${'(x)'}))`).to.equal('(&(uid=a\\2a)(cn=\\28x\\29))');
    // agrees with ldapts' own escaper on the characters RFC 4515 requires
    for (const v of HOSTILE) expect(escapeFilterValue(v)).to.equal(Filter.escape(v), JSON.stringify(v));
  });

  it('escapes RFC 4514 DN values', () => {
    expect(escapeDnValue('a,b+c"d\\e;f<g>h=i')).to.equal('a\\,b\\+c\\"d\\\\e\\;f\\<g\\>h\\=i');
    expect(escapeDnValue('#x#')).to.equal('\\#x#');
    expect(escapeDnValue(' x ')).to.equal('\\ x\\ ');
    expect(escapeDnValue('a\u0000b')).to.equal('a\\00b');
    expect(escapeDnValue('J\u00fcrgen')).to.equal('J\u00fcrgen');
    expect(() => escapeDnValue('')).to.throw(ValidationError);
    expect(() => childDn('uid)(x', 'a', 'dc=x')).to.throw(ValidationError);
    for (const v of HOSTILE) expect(firstRdnValue(childDn('cn', v, 'dc=x'), 'cn'), JSON.stringify(v)).to.equal(v);
  });

  describe('against slapd: hostile values are stored and matched literally', () => {
    const fx = useManagedSlapd();
    const base = () => `ou=groups,${fx.slapd.baseDn}`;

    before(async () => {
      for (const [i, v] of HOSTILE.entries()) {
        if (v.trim() === '' || v.includes('\u0000')) continue; // not storable as DirectoryString (tested below)
        await fx.portal.add(childDn('cn', v, base()), { objectClass: ['posixGroup'], cn: v, gidNumber: String(1000 + i), description: v });
      }
    });

    it('finds each hostile value by exact equality, and only it', async () => {
      for (const [i, v] of HOSTILE.entries()) {
        if (v.trim() === '' || v.includes('\u0000')) continue;
        const hits = await fx.portal.search(base(), { scope: 'one', filter: filter`(&(objectClass=posixGroup)(description=${v}))`, attributes: ['gidNumber', 'cn'] });
        // slapd folds leading/trailing spaces, so ' lead' and 'lead ' match themselves; nothing else may match
        expect(hits.map((h) => h.getInt('gidNumber')), JSON.stringify(v)).to.deep.equal([1000 + i]);
        expect(hits[0]!.get('cn')).to.equal(v);
      }
    });

    it('reads each entry back by the DN built from the hostile value', async () => {
      for (const [i, v] of HOSTILE.entries()) {
        if (v.trim() === '' || v.includes('\u0000')) continue;
        const e = await fx.portal.read(childDn('cn', v, base()), ['gidNumber']);
        expect(e?.getInt('gidNumber'), JSON.stringify(v)).to.equal(1000 + i);
        expect(firstRdnValue(e!.dn, 'cn')).to.equal(v);
      }
    });

    it('a NUL in a filter value cannot truncate the filter', async () => {
      const hits = await fx.portal.search(base(), { scope: 'one', filter: filter`(cn=${'*\u0000'})` });
      expect(hits).to.deep.equal([]);
    });
  });
});
