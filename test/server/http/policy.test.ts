/**
 * Issue 10, usage policy: served at /policy (text from a file, re-read), the accepted version on
 * the account page, a new version forces re-acceptance at the next request, recorded with time
 * and version in LDAP (voPersonPolicyAgreement) and the audit trail. Portal over real TLS, real slapd.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';
import { acceptPolicy, agreementTo, parseAgreement } from '../../../server/services/policy.js';
import { ValidationError } from '../../../core/errors.js';

describe('usage policy (portal over real TLS, real slapd)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  const file = join(mkdtempSync(join(tmpdir(), 'cg-policy-')), 'aup.txt');

  before(async () => {
    writeFileSync(file, 'Rule one: be kind to the storage.\n\nRule two: no embargoed data to outsiders.\n');
    // pat accepted aup-2026 (test-portal); this portal is at aup-2027: a new version.
    t = await startTestPortal(fx, { portal: { policy: { id: 'aup-2027', url: '/policy', title: 'Acceptable use policy', file } } });
  });
  after(async () => {
    await t?.close();
  });

  it('parses agreements with and without a time', () => {
    expect(parseAgreement('aup-1')).to.deep.equal({ version: 'aup-1' });
    expect(parseAgreement('aup-2 2026-12-01T10:00:00Z')).to.deep.equal({ version: 'aup-2', at: new Date('2026-12-01T10:00:00Z') });
    expect(agreementTo({ policyAgreements: ['aup-1', 'aup-2 2026-12-01T10:00:00Z'] }, 'aup-2')!.at!.toISOString()).to.equal('2026-12-01T10:00:00.000Z');
    expect(agreementTo({ policyAgreements: ['aup-1'] }, 'aup-2')).to.equal(undefined);
  });

  it('serves the policy to anyone, from the file, re-read after an edit', async () => {
    const anon = new PortalClient(t.base, { ca: t.ca.certPem });
    const page = await anon.get('/policy');
    expect(page.status).to.equal(200);
    expect(decodeHtml(page.body)).to.include('Acceptable use policy').and.include('version aup-2027').and.include('Rule two: no embargoed data to outsiders.')
      .and.not.include('I have read and accept');
    writeFileSync(file, 'Rule one: be kind to the storage.\n\nRule three: <script>alert(1)</script>\n');
    const edited = await anon.get('/policy');
    expect(edited.body).to.include('Rule three: &lt;script&gt;').and.not.include('<script>');
  });

  it('a new version: the next request goes to the policy, other forms are refused until accepted; acceptance is in LDAP with its time and in the audit trail', async () => {
    const p = new PortalClient(t.base, { ca: t.ca.certPem, cert: t.people.pat.certPem, key: t.people.pat.keyPem });
    expect((await p.get('/login/certificate')).location).to.equal('/account');
    expect((await p.get('/account')).location, 'sent to the policy').to.equal('/policy');
    expect((await p.get('/campaigns/flare')).location).to.equal('/policy');
    const policy = decodeHtml((await p.get('/policy')).body);
    expect(policy).to.include('The usage policy has changed since you last accepted it').and.include('I have read and accept the usage policy aup-2027');
    expect((await p.post('/campaigns/flare/requests', { justification: 'x'.repeat(20) }, { csrfFrom: '/policy' })).status, 'other forms refused').to.equal(403);
    expect((await p.post('/policy/accept', {}, { csrfFrom: '/policy' })).status, 'unchecked').to.equal(400);
    expect((await p.post('/policy/accept', { acceptPolicy: 'aup-2026' }, { csrfFrom: '/policy' })).status, 'the old version').to.equal(400);
    const before = Date.now();
    expect((await p.post('/policy/accept', { acceptPolicy: 'aup-2027' }, { csrfFrom: '/policy' })).location).to.equal('/account');

    const pat = await t.portal.directory.directory.people.require('pat');
    expect(pat.policyAgreements.filter((v) => v.startsWith('aup-2026'))).to.deep.equal(['aup-2026']);
    const value = pat.policyAgreements.find((v) => v.startsWith('aup-2027 '))!;
    expect(value).to.match(/^aup-2027 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(parseAgreement(value).at!.getTime()).to.be.within(before - 1000, Date.now());
    const record = t.portal.audit.query({ action: 'policy.accept' }).find((e) => e.target === 'pat')!;
    expect(record.details).to.deep.include({ policy: 'aup-2027' });
    const account = decodeHtml((await p.get('/account')).body);
    expect(account).to.match(/accepted version aup-2027 on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(current\)/);
    expect((await p.get('/campaigns/flare')).status).to.equal(200);
  });

  it('acceptPolicy refuses any version but the current one', async () => {
    const ctx = { directory: t.portal.directory.directory, audit: { append: () => undefined } };
    const err = await acceptPolicy(ctx, { username: 'pat', isAdmin: false, identity: 'x', ip: '127.0.0.1' }, 'aup-2027', 'aup-2026').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ValidationError);
  });
});
