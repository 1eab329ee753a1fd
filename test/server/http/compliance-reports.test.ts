/**
 * Issue 18 item 5, the compliance report in the portal: a real agent (real files, real journal,
 * real signed traces, real slapd) computes its report and publishes it, signed with a host
 * certificate of the portal's trust directory, over the portal's real HTTPS; the portal refuses
 * unsigned, tampered, untrusted, unlisted, misnamed, replayed, older and future reports; the PI and
 * the admins see the figures, a member and an unrelated user do not; the downloaded .p7m verifies
 * with `openssl cms -verify -CApath <trust dir>`.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { agentConfigSchema, type AgentConfig } from '../../../mapper-agent/config.js';
import { embargoCommand, ingestCommand, reportCommand } from '../../../mapper-agent/ingest/commands.js';
import { complianceDocuments, publishReport, signDocuments, PublishRefused } from '../../../mapper-agent/ingest/publish.js';
import type { ComplianceReport } from '../../../mapper-agent/ingest/report.js';
import { loadSigner, type Signer } from '../../../core/pki/cms.js';
import { OpenIdConnectLogin } from '../../../server/auth/oidc.js';
import { createLogger } from '../../../core/log.js';
import * as x509 from '@peculiar/x509';
import { installCa } from '../../../core/pki/install-ca.js';
import { createCa, createCrl, issue, type Issued } from '../../support/pki.js';
import { fitsFile } from '../../support/fits.js';
import { followLogin, TEST_CLIENT } from '../../support/openid-provider.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';

const STORE1 = '/DC=org/DC=example/CN=store1.example.org';
const STORE3 = '/DC=org/DC=example/CN=store3.example.org';

describe('compliance reports: agent to portal, signed (real slapd, files, TLS)', function () {
  this.timeout(120000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let base: string;
  let cfg: AgentConfig;
  let root: string;
  const people: Record<'pia' | 'mia' | 'uma', Issued> = {} as never;
  const hosts: Record<'store1' | 'store2' | 'store3' | 'rogue', { certFile: string; keyFile: string; signer: Signer }> = {} as never;
  let report: ComplianceReport;
  const out: string[] = [];
  const ctx = () => ({ cfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => out.push(l) });
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const anon = () => new PortalClient(t.base, { ca: t.ca.certPem });
  const post = (body: unknown) => anon().json('POST', '/api/compliance-reports', body);
  const b64 = (ders: Buffer[]) => ({ reports: ders.map((d) => d.toString('base64')) });

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    t = await startTestPortal(fx, { portal: { complianceReports: { agentHosts: [STORE1, STORE3], staleHours: 24 } } });
    base = mkdtempSync(join(tmpdir(), 'cg-compliance-'));
    const d = t.portal.directory.directory;
    for (const [name, cn] of [['pia', 'Pia Investigator'], ['mia', 'Mia Member'], ['uma', 'Uma Unrelated']] as const) {
      people[name] = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: [cn] }], 'user');
      await d.people.create({ username: name, displayName: cn, policyAgreements: ['aup-2026'] });
      await d.identities.bind(name, { type: 'x509', subject: `/DC=org/DC=example/CN=${cn}` });
      await d.identities.bind(name, { type: 'oidc', issuer: t.op.issuer, subject: `${name}-iam` });
      t.op.accounts.set(`${name}-iam`, { sub: `${name}-iam` });
    }
    await d.campaigns.create({ name: 'corona', pi: 'pia', embargoEnd: new Date('2031-01-01T00:00:00Z') });
    await d.campaigns.addMember('corona', 'mia');
    await d.campaigns.create({ name: 'helios', pi: 'pia', embargoEnd: new Date(Date.now() + 86400_000) });

    // Host certificates: store1 is a configured agent host; store2 is trusted but not listed; store3 is listed but
    // revoked by its CA; rogue's CA is not trusted.
    const other = await createCa([{ DC: ['org'] }, { DC: ['elsewhere'] }, { CN: ['Other CA'] }]);
    for (const [name, ca, dn] of [['store1', t.ca, 'example'], ['store2', t.ca, 'example'], ['store3', t.ca, 'example'], ['rogue', other, 'elsewhere']] as const) {
      const issued = await issue(ca, [{ DC: ['org'] }, { DC: [dn] }, { CN: [`${name}.example.org`] }], 'server', { dnsNames: [`${name}.example.org`] });
      const certFile = join(base, `${name}.pem`);
      const keyFile = join(base, `${name}.key`);
      writeFileSync(certFile, issued.certPem);
      writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
      hosts[name] = { certFile, keyFile, signer: loadSigner(certFile, keyFile) };
    }
    const revoked = [t.people.mallory.cert, new x509.X509Certificate(readFileSync(hosts.store3.certFile, 'utf8'))];
    installCa(t.trustDir, { certPem: t.ca.certPem, crlPem: (await createCrl(t.ca, revoked)).toString('pem'), namespacePrefix: '/DC=org/DC=example/' });
    const caFile = join(base, 'portal-ca.pem');
    writeFileSync(caFile, t.ca.certPem);

    root = join(base, 'data');
    mkdirSync(join(root, 'obs'), { recursive: true });
    cfg = agentConfigSchema.parse({
      ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
      agent: {
        stateDir: join(base, 'state'), ingest: { roots: [root], workers: 1 },
        traces: { enabled: true, certFile: hosts.store1.certFile, keyFile: hosts.store1.keyFile, caPaths: [t.trustDir] },
        report: { publishUrl: `${t.base}/api/compliance-reports`, site: 'Test site', caFile },
      },
    });
    const put = (name: string, cards: [string, string][]) => {
      const p = join(root, 'obs', name);
      writeFileSync(p, fitsFile(cards, 2000));
      chmodSync(p, 0o664);
      return p;
    };
    for (const n of ['c1', 'c2', 'c3']) put(`${n}.fits`, [['CAMPAIGN', 'corona']]);
    put('cql.fits', [['CAMPAIGN', 'corona'], ['LEVEL', 'QL']]);
    for (const n of ['h1', 'h2']) put(`${n}.fits`, [['CAMPAIGN', 'helios']]);
    put('lost.fits', [['CAMPAIGN', 'nosuch']]);
    await ingestCommand(ctx(), [root], { dryRun: false });
    // helios's embargo ends (by the directory's clock): the agent releases it, journaled and traced.
    await d.campaigns.setEmbargoEnd('helios', new Date(Date.now() - 1000));
    await embargoCommand(ctx(), { dryRun: false });
    chmodSync(join(root, 'obs', 'c1.fits'), 0o644); // drift: opened by hand
    report = await reportCommand(ctx(), { format: 'json', publish: true });
  });
  after(async () => {
    await t?.close();
  });

  it('the published figures are the agent\'s, and equal what is on disk', () => {
    const corona = report.campaigns.find((c) => c.campaign === 'corona')!;
    expect(corona).to.deep.include({ files: 4, closed: 3, public: 1, drift: 1 });
    const helios = report.campaigns.find((c) => c.campaign === 'helios')!;
    expect(helios).to.deep.include({ files: 2, closed: 0, public: 2, drift: 0 });
    expect(helios.released.files).to.equal(2);
    expect(report.quarantined).to.equal(1);
    const worldReadable = (n: string) => (statSync(join(root, 'obs', n)).mode & 0o004) !== 0;
    expect(['c1', 'c2', 'c3', 'cql'].filter((n) => !worldReadable(`${n}.fits`)).length, 'closed on disk').to.equal(corona.closed - corona.drift);
    expect(['h1', 'h2'].filter((n) => worldReadable(`${n}.fits`)).length, 'released on disk').to.equal(helios.public);
    const receipt = t.portal.audit.query({ action: 'compliance.report' });
    expect(receipt).to.have.length(1);
    expect(receipt[0]!.target).to.equal(STORE1);
    expect(receipt[0]!.details).to.deep.include({ host: 'store1.example.org', site: 'Test site', campaigns: ['corona', 'helios'], documents: 2 });
  });

  it('the PI sees the campaign\'s figures, traces and the signed document; a member and an unrelated user do not', async () => {
    const pia = as(people.pia);
    await pia.get('/login/certificate');
    expect(decodeHtml((await pia.get('/campaigns/corona')).body)).to.include('Embargo compliance report');
    const res = await pia.get('/campaigns/corona/compliance');
    expect(res.status).to.equal(200);
    const html = decodeHtml(res.body);
    expect(html).to.include('store1.example.org').and.include('Test site').and.include(STORE1);
    expect(html).to.match(/data-figure="files">4</).and.match(/data-figure="closed">3</).and.match(/data-figure="public">1</).and.match(/data-figure="drift">1</).and.match(/data-figure="quarantined">1</);
    expect(html).to.match(/\d+ signed traces of corona \(ingest 4\)/);
    expect(html).to.include('Merkle root').and.not.include('stale');
    const helios = decodeHtml((await pia.get('/campaigns/helios/compliance')).body);
    expect(helios).to.match(/data-figure="released">2 files, last \d{4}-/);

    for (const who of ['mia', 'uma'] as const) {
      const c = as(people[who]);
      await c.get('/login/certificate');
      expect((await c.get('/campaigns/corona/compliance')).status, who).to.equal(403);
      expect(decodeHtml((await c.get('/campaigns/corona')).body), who).to.not.include('Embargo compliance report');
      expect((await c.get('/admin/compliance')).status, who).to.equal(403);
    }
    const id = /href="\/campaigns\/corona\/compliance\/(\d+)\.p7m"/.exec(res.body)![1]!;
    const mia = as(people.mia);
    await mia.get('/login/certificate');
    expect((await mia.get(`/campaigns/corona/compliance/${id}.p7m`)).status, 'member: no download').to.equal(403);
    expect((await pia.get(`/campaigns/helios/compliance/${id}.p7m`)).status, 'a document of another campaign').to.equal(404);
    expect((await pia.get('/campaigns/nosuch/compliance')).status).to.equal(404);
    expect((await anon().get('/campaigns/corona/compliance')).status).to.equal(401);

    const pat = as(t.people.pat); // admin, not the PI
    await pat.get('/login/certificate');
    expect((await pat.get('/campaigns/corona/compliance')).status).to.equal(200);
    const overview = decodeHtml((await pat.get('/admin/compliance')).body);
    expect(overview).to.include('href="/campaigns/corona/compliance"').and.include('href="/campaigns/helios/compliance"');
    expect(decodeHtml((await pat.get('/admin')).body)).to.include('/admin/compliance');
  });

  it('an auditor verifies the downloaded .p7m with openssl cms -verify against the trust directory; a changed byte fails', async () => {
    const pia = as(people.pia);
    await pia.get('/login/certificate');
    const id = /href="\/campaigns\/corona\/compliance\/(\d+)\.p7m"/.exec((await pia.get('/campaigns/corona/compliance')).body)![1]!;
    const download = await pia.get(`/campaigns/corona/compliance/${id}.p7m`);
    expect(download.status).to.equal(200);
    expect(download.headers['content-type']).to.include('application/pkcs7-mime');
    const der = download.raw;
    const file = join(base, 'corona.p7m');
    writeFileSync(file, der);
    const content = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', file, '-CApath', t.trustDir, '-purpose', 'any'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const doc = JSON.parse(content.toString('utf8'));
    expect(doc).to.deep.include({ host: 'store1.example.org', site: 'Test site' });
    expect(doc.figures).to.deep.equal(report.campaigns.find((c) => c.campaign === 'corona'));
    expect(doc.traces.campaign.byEvent).to.deep.equal({ ingest: 4 });
    const at = der.indexOf(Buffer.from('"closed":3'));
    expect(at).to.be.greaterThan(0);
    const tampered = Buffer.from(der);
    tampered[at + 9] = 0x39; // "closed":9
    writeFileSync(file, tampered);
    expect(spawnSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', file, '-CApath', t.trustDir, '-purpose', 'any', '-out', '/dev/null']).status).to.not.equal(0);
    expect(readFileSync(file).length).to.equal(der.length);
  });

  it('refuses unsigned, tampered, untrusted, unlisted and misnamed reports', async () => {
    const docs = complianceDocuments({ ...report, generatedAt: new Date(Date.now() + 1000).toISOString() }, { host: 'store1.example.org', site: 'Test site', traces: null });
    const unsigned = await post(b64([Buffer.from(JSON.stringify(docs[0]))]));
    expect(unsigned.status).to.equal(400);
    expect(JSON.parse(unsigned.body).error).to.include('not a signed report');
    expect((await post({ reports: ['not base64!'] })).status).to.equal(400);

    const [signed] = signDocuments([docs[0]!], hosts.store1.signer);
    const tampered = Buffer.from(signed!);
    const at = tampered.indexOf(Buffer.from('"drift":1'));
    tampered[at + 8] = 0x30; // "drift":0
    const bad = await post(b64([tampered]));
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.body).error).to.include('does not verify');

    const rogue = await post(b64(signDocuments(complianceDocuments(report, { host: 'rogue.example.org', site: '', traces: null }), hosts.rogue.signer)));
    expect(rogue.status, 'signer not trusted').to.equal(403);
    expect(JSON.parse(rogue.body).error).to.include('not issued by a CA this portal trusts');

    const unlisted = await post(b64(signDocuments(complianceDocuments(report, { host: 'store2.example.org', site: '', traces: null }), hosts.store2.signer)));
    expect(unlisted.status, 'trusted but not an agent host').to.equal(403);
    expect(JSON.parse(unlisted.body).error).to.include('not a configured agent host');

    const revokedHost = await post(b64(signDocuments(complianceDocuments(report, { host: 'store3.example.org', site: '', traces: null }), hosts.store3.signer)));
    expect(revokedHost.status, 'listed, but its certificate is revoked').to.equal(403);
    expect(JSON.parse(revokedHost.body).error).to.include('has been revoked');

    const misnamed = await post(b64(signDocuments(complianceDocuments({ ...report, generatedAt: new Date().toISOString() }, { host: 'store2.example.org', site: '', traces: null }), hosts.store1.signer)));
    expect(misnamed.status, 'names another host').to.equal(403);
    expect(t.portal.audit.query({ action: 'compliance.report' }), 'no refused report is stored or audited').to.have.length(1);
  });

  it('refuses a replayed or older report and one from the future; takes a newer one as application/pkcs7-mime', async () => {
    const stored = report.generatedAt;
    const again = await post(b64(signDocuments(complianceDocuments(report, { host: 'store1.example.org', site: 'Test site', traces: null }), hosts.store1.signer)));
    expect(again.status, 'the same report again').to.equal(409);
    const older = await post(b64(signDocuments(complianceDocuments({ ...report, generatedAt: new Date(Date.parse(stored) - 3600_000).toISOString() }, { host: 'store1.example.org', site: '', traces: null }), hosts.store1.signer)));
    expect(older.status).to.equal(409);
    expect(JSON.parse(older.body).error).to.include('not newer');
    const future = await post(b64(signDocuments(complianceDocuments({ ...report, generatedAt: new Date(Date.now() + 86400_000).toISOString() }, { host: 'store1.example.org', site: '', traces: null }), hosts.store1.signer)));
    expect(future.status).to.equal(400);
    expect(JSON.parse(future.body).error).to.include('in the future');

    // A newer report of one campaign, as one DER body; the agent's publisher refuses loudly on a replay.
    const newer = { ...report, generatedAt: new Date(Date.parse(stored) + 1000).toISOString(), campaigns: report.campaigns.filter((c) => c.campaign === 'corona').map((c) => ({ ...c, drift: 0 })) };
    const [der] = signDocuments(complianceDocuments(newer, { host: 'store1.example.org', site: 'Test site', traces: null }), hosts.store1.signer);
    const r = await new Promise<number>((resolve, reject) => {
      import('node:https').then(({ request }) => {
        const req = request(new URL('/api/compliance-reports', t.base), { method: 'POST', ca: t.ca.certPem, headers: { 'content-type': 'application/pkcs7-mime' } }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on('error', reject).end(der);
      }, reject);
    });
    expect(r).to.equal(201);
    const pia = as(people.pia);
    await pia.get('/login/certificate');
    const html = decodeHtml((await pia.get('/campaigns/corona/compliance')).body);
    expect(html).to.match(/data-figure="drift">0</).and.include('no signed traces');
    const replay = await publishReport(cfg, report).then(() => undefined, (err: unknown) => err);
    expect(replay).to.be.instanceOf(PublishRefused);
    expect((replay as PublishRefused).status).to.equal(409);
  });

  it('the API gives the PI (and admins) the latest reports as JSON; a member gets 403', async () => {
    const token = async (who: string, scopes = 'openid campaign-guard') => {
      const oidc = new OpenIdConnectLogin([{ id: 'test', name: 'Test', issuer: t.op.issuer, clientId: TEST_CLIENT.id, clientSecret: TEST_CLIENT.secret, scopes }]);
      t.op.nextLogin = `${who}-iam`;
      const { url, pending } = await oidc.start('test', `${t.base}/login/oidc/test/callback`);
      const cb = await followLogin(url, `${t.base}/login/oidc/test/callback`);
      return (await client.authorizationCodeGrant(await oidc.configuration('test'), cb, { pkceCodeVerifier: pending.codeVerifier!, expectedState: pending.state!, expectedNonce: pending.nonce! })).access_token;
    };
    const api = anon();
    const res = await api.get('/api/campaigns/helios/compliance', { headers: { authorization: `Bearer ${await token('pia')}` } });
    expect(res.status).to.equal(200);
    const list = JSON.parse(res.body) as { host: string; hostDn: string; document: { figures: { released: { files: number } } } }[];
    expect(list).to.have.length(1);
    expect(list[0]).to.deep.include({ host: 'store1.example.org', hostDn: STORE1 });
    expect(list[0]!.document.figures.released.files).to.equal(2);
    expect((await api.get('/api/campaigns/corona/compliance', { headers: { authorization: `Bearer ${await token('mia')}` } })).status).to.equal(403);
    expect((await api.get('/api/campaigns/corona/compliance')).status).to.equal(401);
  });
});
