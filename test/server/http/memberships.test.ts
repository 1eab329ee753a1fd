/**
 * Issue 10, self-service memberships and PI powers without the admin role (portal over real TLS,
 * real slapd, the map written by the agent's sync): withdraw a pending request, see decisions
 * with reasons, PI's pending list across campaigns with a count in the menu, add a member
 * directly, remove, leave; each ends in the right LDAP state, map lines and audit records.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issue, type Issued } from '../../support/pki.js';
import { startTestPortal, type TestPortal } from '../../support/test-portal.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { decodeHtml, PortalClient } from '../../support/portal-client.js';
import { agentSectionSchema, type AgentSection } from '../../../mapper-agent/config.js';
import { syncMap } from '../../../mapper-agent/map/sync.js';

describe('memberships: withdraw, decisions on the account page, PI without admin role, leave (portal over real TLS, real slapd, map)', function () {
  this.timeout(60000);
  const fx = useManagedSlapd();
  let t: TestPortal;
  let agent: AgentSection;
  let pia: Issued, omar: Issued;
  let corona: number;
  const as = (who: Issued) => new PortalClient(t.base, { ca: t.ca.certPem, cert: who.certPem, key: who.keyPem });
  const dir = () => t.portal.directory.directory;
  const ninaLines = async () => {
    await syncMap(fx.agent, fx.slapd.baseDn, agent, { force: true });
    return readFileSync(agent.multimapPath, 'utf8').split('\n').filter((l) => l.startsWith('"dn:/DC=org/DC=example/CN=Nina Newcomer"'));
  };
  const actions = (campaign: string) => t.portal.audit.query({}).filter((e) => e.target === campaign).map((e) => `${e.action} ${e.actor}`);

  before(async () => {
    t = await startTestPortal(fx);
    const state = mkdtempSync(join(tmpdir(), 'cg-members-'));
    agent = agentSectionSchema.parse({ stateDir: state, multimapPath: join(state, 'multi-mapfile'), oidcAliases: {} });
    pia = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Pia Investigator'] }], 'user');
    omar = await issue(t.ca, [{ DC: ['org'] }, { DC: ['example'] }, { CN: ['Omar Other'] }], 'user');
    for (const [username, subject] of [['pia', 'Pia Investigator'], ['nina', 'Nina Newcomer'], ['omar', 'Omar Other']] as const) {
      await dir().people.create({ username, displayName: subject, policyAgreements: ['aup-2026'] });
      await dir().identities.bind(username, { type: 'x509', subject: `/DC=org/DC=example/CN=${subject}` });
    }
    corona = (await dir().campaigns.create({ name: 'corona', pi: 'pia' })).gidNumber;
    await dir().campaigns.create({ name: 'halo', pi: 'pia' });
  });
  after(async () => {
    await t?.close();
  });

  it('a pending request is withdrawn by its requester, audited; nobody else can', async () => {
    const n = as(t.people.nina);
    await n.get('/login/certificate');
    await n.post('/campaigns/corona/requests', { justification: 'Coronal loop spectra, please.' }, { csrfFrom: '/campaigns/corona' });
    const account = decodeHtml((await n.get('/account')).body);
    expect(account).to.include('waiting for the PI').and.include('aria-label="Withdraw request for corona"');
    const id = /action="\/requests\/([0-9a-f-]+)\/withdraw"/.exec(account)![1]!;
    const o = as(omar);
    await o.get('/login/certificate');
    expect((await o.post(`/requests/${id}/withdraw`, {})).status, 'not by someone else').to.equal(404);
    expect((await n.post(`/requests/${id}/withdraw`, {})).location).to.equal('/account');
    expect(await dir().requests.get(id)).to.equal(undefined);
    expect(await dir().requests.byRequester('nina', 'pending')).to.have.length(0);
    expect(actions('corona')).to.include('membership.withdraw nina');
    expect((await n.post(`/requests/${id}/withdraw`, {})).status, 'twice').to.equal(404);
  });

  it('the PI (no admin role) sees pending requests across her campaigns with a count in the menu; a denial and its reason show on the requester\'s account page', async () => {
    const n = as(t.people.nina);
    await n.get('/login/certificate');
    const o = as(omar);
    await o.get('/login/certificate');
    await n.post('/campaigns/corona/requests', { justification: 'Coronal loop spectra, again.' }, { csrfFrom: '/campaigns/corona' });
    await o.post('/campaigns/halo/requests', { justification: 'Halo photometry for my thesis.' }, { csrfFrom: '/campaigns/halo' });
    const p = as(pia);
    await p.get('/login/certificate');
    const home = decodeHtml((await p.get('/account')).body);
    expect(home).to.include('href="/requests"').and.include('aria-label="2 pending"').and.not.include('href="/admin"');
    const list = decodeHtml((await p.get('/requests')).body);
    expect(list).to.include('Coronal loop spectra, again.').and.include('Halo photometry for my thesis.').and.include('aria-label="Approve omar for halo"');
    const ninaReq = (await dir().requests.byRequester('nina', 'pending'))[0]!;
    await p.post(`/requests/${ninaReq.id}/deny`, { reason: 'Observing time is over; ask next season.' }, { csrfFrom: '/requests' });
    expect(decodeHtml((await p.get('/account')).body)).to.include('aria-label="1 pending"');
    const account = decodeHtml((await n.get('/account')).body);
    expect(account).to.match(/corona<\/a><\/td><td>denied<\/td><td>Observing time is over; ask next season.<\/td><td>pia<\/td>/);
    expect((await n.get('/account')).body, 'no menu count for a non-PI').to.not.include('href="/requests"');
  });

  it('the PI adds a member directly (her pending request is approved with it) and removes one; the map follows; both audited', async () => {
    const p = as(pia);
    await p.get('/login/certificate');
    expect((await p.post('/campaigns/halo/members', { username: 'omar' }, { csrfFrom: '/campaigns/halo' })).location).to.equal('/campaigns/halo');
    expect((await p.post('/campaigns/corona/members', { username: 'nina' }, { csrfFrom: '/campaigns/corona' })).location).to.equal('/campaigns/corona');
    expect((await dir().campaigns.require('corona')).members.sort()).to.deep.equal(['nina', 'pia']);
    expect((await dir().campaigns.require('halo')).members.sort()).to.deep.equal(['omar', 'pia']);
    expect(await dir().requests.byRequester('omar', 'pending'), 'the pending request was approved by the add').to.have.length(0);
    expect((await dir().requests.byRequester('omar', 'approved'))[0]).to.deep.include({ decidedBy: 'pia', decisionReason: 'added by pia' });
    expect((await p.post('/campaigns/corona/members', { username: 'ghost' }, { csrfFrom: '/campaigns/corona' })).status).to.equal(404);
    const n = as(t.people.nina);
    await n.get('/login/certificate');
    expect((await n.post('/campaigns/corona/members', { username: 'omar' }, { csrfFrom: '/campaigns/corona' })).status, 'a member cannot add').to.equal(403);
    expect(await ninaLines()).to.have.length(1).and.satisfy((l: string[]) => l[0]!.includes(`gid:${corona}`));

    expect((await p.post('/campaigns/halo/members/omar/remove', {}, { csrfFrom: '/campaigns/halo' })).location).to.equal('/campaigns/halo');
    expect((await dir().campaigns.require('halo')).members).to.deep.equal(['pia']);
    expect(actions('corona')).to.include('membership.add pia');
    expect(actions('halo')).to.include.members(['membership.add pia', 'membership.remove pia']);
  });

  it('a member leaves a campaign: out of the group and the map line; the PI cannot leave her own', async () => {
    const n = as(t.people.nina);
    await n.get('/login/certificate');
    const account = decodeHtml((await n.get('/account')).body);
    expect(account).to.include('aria-label="Leave corona"');
    expect((await n.post('/campaigns/corona/leave', {})).location).to.equal('/account');
    expect((await dir().campaigns.require('corona')).members).to.deep.equal(['pia']);
    const lines = await ninaLines();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.not.include(`gid:${corona}`);
    expect(actions('corona')).to.include('membership.leave nina');
    expect((await n.post('/campaigns/corona/leave', {})).status, 'not a member any more').to.equal(404);
    const p = as(pia);
    await p.get('/login/certificate');
    expect((await p.post('/campaigns/corona/leave', {}, { csrfFrom: '/campaigns/corona' })).status).to.equal(409);
  });
});
