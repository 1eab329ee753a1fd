import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Directory } from '../../../core/directory/directory.js';
import { IdentityBoundElsewhereError } from '../../../core/directory/identities.js';
import { identityKey } from '../../../core/directory/layout.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { rejection } from '../../support/rejection.js';

const ranges = { uid: { min: 10000, max: 19999 }, gid: { min: 50000, max: 59999 } };

describe('core/directory/identities (real slapd)', function () {
  this.timeout(20000);
  const fx = useManagedSlapd({ ranges });
  let dir: Directory;
  before(async () => {
    dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges });
    for (const u of ['alice', 'bob', 'carol']) await dir.people.create({ username: u });
  });

  it('keys identities by sha256 of the documented material', () => {
    const sha = (m: string) => createHash('sha256').update(m, 'utf8').digest('hex');
    expect(identityKey({ type: 'x509', subject: '/C=DE/CN=A' })).to.equal(sha('x509\n/C=DE/CN=A'));
    expect(identityKey({ type: 'oidc', issuer: 'https://op.example', subject: 's1' })).to.equal(sha('oidc\nhttps://op.example\ns1'));
  });

  it('binds an x509 subject, finds it, and is idempotent for the same person', async () => {
    const subject = '/DC=org/DC=example/C=DE/O=Example/CN=Alice Smith';
    const notAfter = new Date('2030-01-02T03:04:05Z');
    const id = await dir.identities.bind('alice', { type: 'x509', subject, issuer: '/DC=org/DC=example/CN=Example CA', notAfter });
    expect(id).to.include({ type: 'x509', owner: 'alice', status: 'active', certSubject: subject, certIssuer: '/DC=org/DC=example/CN=Example CA' });
    expect(id.certNotAfter?.toISOString()).to.equal(notAfter.toISOString());
    const again = await dir.identities.bind('alice', { type: 'x509', subject });
    expect(again.key).to.equal(id.key);
    expect((await dir.identities.get({ type: 'x509', subject }))?.owner).to.equal('alice');
    expect((await dir.identities.listForPerson('alice')).map((i) => i.certSubject)).to.deep.equal([subject]);
  });

  it('refuses to bind a subject held by another account, naming the situation', async () => {
    const err = await rejection(dir.identities.bind('bob', { type: 'x509', subject: '/DC=org/DC=example/C=DE/O=Example/CN=Alice Smith' }));
    expect(err).to.be.instanceOf(IdentityBoundElsewhereError).and.instanceOf(ConflictError);
    expect(err.message).to.match(/certificate subject is already bound to another account/);
    expect((err as IdentityBoundElsewhereError).ownerDn).to.match(/^uid=alice,/);
  });

  it('lets exactly one of many racing binds of one subject win', async () => {
    const subject = '/C=DE/O=Race/CN=Contested';
    const contenders = ['alice', 'bob', 'carol', 'alice', 'bob', 'carol'];
    const results = await Promise.allSettled(contenders.map((u) => dir.identities.bind(u, { type: 'x509', subject })));
    const winners = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.owner] : [])));
    expect(winners.size).to.equal(1);
    const owner = [...winners][0]!;
    for (const [i, r] of results.entries()) {
      if (contenders[i] === owner) expect(r.status).to.equal('fulfilled');
      else expect(r.status === 'rejected' && r.reason instanceof IdentityBoundElsewhereError).to.equal(true);
    }
    expect((await dir.identities.get({ type: 'x509', subject }))?.owner).to.equal(owner);
  });

  it('keeps subjects that differ only by case or spaces apart (exact match, as dCache does)', async () => {
    await dir.identities.bind('bob', { type: 'x509', subject: '/C=DE/CN=Space Case' });
    await dir.identities.bind('carol', { type: 'x509', subject: '/C=DE/CN=space case' });
    await dir.identities.bind('carol', { type: 'x509', subject: '/C=DE/CN=Space  Case ' });
    expect((await dir.identities.get({ type: 'x509', subject: '/C=DE/CN=Space Case' }))?.owner).to.equal('bob');
    expect((await dir.identities.get({ type: 'x509', subject: '/C=DE/CN=space case' }))?.owner).to.equal('carol');
    expect((await dir.identities.get({ type: 'x509', subject: '/C=DE/CN=Space  Case ' }))?.certSubject).to.equal('/C=DE/CN=Space  Case ');
  });

  it('binds OIDC identities per issuer, revokes, reactivates and unbinds', async () => {
    const a = { type: 'oidc' as const, issuer: 'https://op.example.org', subject: 'abc@x' };
    const b = { type: 'oidc' as const, issuer: 'https://other.example.org', subject: 'abc@x' };
    await dir.identities.bind('alice', a);
    await dir.identities.bind('bob', b); // same sub at another OP is another identity
    expect((await dir.identities.get(a))?.owner).to.equal('alice');
    expect((await dir.identities.get(b))?.owner).to.equal('bob');
    await dir.identities.setStatus(a, 'revoked');
    expect((await dir.identities.get(a))?.status).to.equal('revoked');
    await dir.identities.setStatus(a, 'active');
    expect((await dir.identities.get(a))?.status).to.equal('active');
    expect(await rejection(dir.identities.unbind('bob', a))).to.be.instanceOf(NotFoundError);
    await dir.identities.unbind('alice', a);
    expect(await dir.identities.get(a)).to.equal(undefined);
    await dir.identities.bind('carol', a); // free again
    expect((await dir.identities.get(a))?.owner).to.equal('carol');
  });

  it('refuses malformed identities with ValidationError', async () => {
    expect(await rejection(dir.identities.bind('alice', { type: 'x509', subject: 'CN=not slash form' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.identities.bind('alice', { type: 'x509', subject: '/CN=a\nb' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.identities.bind('alice', { type: 'oidc', issuer: 'ftp://x', subject: 's' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.identities.bind('alice', { type: 'oidc', issuer: 'https://x', subject: 'ü' }))).to.be.instanceOf(ValidationError);
    expect(await rejection(dir.identities.bind('nobody', { type: 'x509', subject: '/CN=x' }))).to.be.instanceOf(NotFoundError);
  });

  it('stores hostile subjects literally and finds only the exact one', async () => {
    const hostile = '/C=DE/CN=*)(cgOwner=*))(|(cn=*,ou=people\\00#+"';
    await dir.identities.bind('bob', { type: 'x509', subject: hostile });
    const got = await dir.identities.get({ type: 'x509', subject: hostile });
    expect(got?.certSubject).to.equal(hostile);
    expect(await dir.identities.get({ type: 'x509', subject: '/C=DE/CN=*' })).to.equal(undefined);
    const bobs = await dir.identities.listForPerson('bob');
    expect(bobs.map((i) => i.certSubject)).to.include(hostile);
  });

  it('frees identities when the account is deleted', async () => {
    await dir.people.create({ username: 'dave' });
    await dir.identities.bind('dave', { type: 'x509', subject: '/CN=Dave' });
    await dir.deletePerson('dave');
    expect(await dir.identities.get({ type: 'x509', subject: '/CN=Dave' })).to.equal(undefined);
  });

  it('keeps the other grid DNs dCache may compute for a subject, refuses a form another account holds, and learns forms at a later login', async () => {
    const d = dir;
    await d.people.create({ username: 'formy', displayName: 'Formy' });
    await d.people.create({ username: 'other', displayName: 'Other' });
    const bound = await d.identities.bind('formy', { type: 'x509', subject: '/C=DE/CN=F\\xC3\\xB6rmy', forms: ['/C=DE/CN=F\\xEF\\xBF\\xBDrmy'] });
    expect(bound.certSubjectForms).to.deep.equal(['/C=DE/CN=F\\xEF\\xBF\\xBDrmy']);
    // Another account's certificate whose subject is that other form: dCache could log it into formy.
    const refused = await d.identities.bind('other', { type: 'x509', subject: '/C=DE/CN=F\\xEF\\xBF\\xBDrmy' }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ConflictError).with.property('message').that.matches(/another account already uses/);
    // An identity bound before forms were kept learns them when its certificate logs in again.
    const older = await d.identities.bind('other', { type: 'x509', subject: '/C=DE/CN=Ol\\xC3\\xA9' });
    await d.identities.refreshCertificate(older, { forms: ['/C=DE/CN=Ol\\xEF\\xBF\\xBD'] });
    expect((await d.identities.get({ type: 'x509', subject: '/C=DE/CN=Ol\\xC3\\xA9' }))!.certSubjectForms).to.deep.equal(['/C=DE/CN=Ol\\xEF\\xBF\\xBD']);
  });
});
