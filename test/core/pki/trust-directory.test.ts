/**
 * The portal reads the IGTF trust directory the way dCache's CANL does: HASH.N anchors, HASH.rN
 * CRLs, HASH.namespaces and HASH.signing_policy side by side in one directory (the layout that
 * `openssl rehash`/c_rehash and fetch-crl produce: file names from `openssl x509 -subject_hash`).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrust, TrustDirectory } from '../../../core/pki/trust-directory.js';
import { createCa, createCrl, issue } from '../../support/pki.js';

function subjectHash(pem: string): string {
  return execFileSync('openssl', ['x509', '-subject_hash', '-noout'], { input: pem }).toString().trim();
}

describe('core/pki/trust-directory', function () {
  this.timeout(20000);

  it('reads CAs, CRLs and both policy formats from one directory, as README configures it for both lists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-igtf-'));
    const ca = await createCa('CN=Test Root CA,O=Test,C=DE');
    const h = subjectHash(ca.certPem);
    writeFileSync(join(dir, `${h}.0`), ca.certPem);
    writeFileSync(join(dir, `${h}.r0`), (await createCrl(ca, [])).toString('pem'));
    writeFileSync(join(dir, `${h}.namespaces`), 'TO Issuer SELF PERMIT Subject "/C=DE/O=Test/.*"\n');
    writeFileSync(join(dir, `${h}.signing_policy`), "access_id_CA X509 '/C=DE/O=Test/CN=Test Root CA'\npos_rights globus CA:sign\ncond_subjects globus '\"/C=DE/O=Test/*\"'\n");
    writeFileSync(join(dir, 'Test-Root.pem'), ca.certPem); // the IGTF distribution's companions are not read twice
    writeFileSync(join(dir, 'Test-Root.info'), 'alias = Test-Root\n');
    const t = loadTrust([dir], [dir]);
    expect(t.problems).to.deep.equal([]);
    expect(t.cas.map((c) => c.hash)).to.deep.equal([h]);
    expect(t.crls).to.have.length(1);
    expect([t.euGridPma.length, t.globus.length]).to.deep.equal([1, 1]);
  });

  it('reports a file that is not what its name says, and still uses the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-igtf-'));
    const ca = await createCa('CN=Test Root CA,O=Test,C=DE');
    const h = subjectHash(ca.certPem);
    writeFileSync(join(dir, `${h}.0`), ca.certPem);
    writeFileSync(join(dir, `${h}.r0`), ca.certPem); // a certificate where a CRL belongs
    writeFileSync(join(dir, `${h}.namespaces`), 'TO Issuer SELF PERMITS Subject ".*"\n');
    writeFileSync(join(dir, 'deadbeef.0'), 'not a certificate');
    const t = loadTrust([dir], [dir]);
    expect(t.cas).to.have.length(1);
    expect(t.problems.join('\n')).to.match(new RegExp(`${h}\\.r0: not a CRL`)).and.match(new RegExp(`${h}\\.namespaces: not a EUGridPMA namespaces file: .*syntax problem`))
      .and.match(/deadbeef\.0: not a CA certificate/);
  });

  it('notices a CRL that fetch-crl replaced, without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-igtf-'));
    const ca = await createCa('CN=Test Root CA,O=Test,C=DE');
    const user = await issue(ca, 'CN=Pat,O=Test,C=DE', 'user');
    const h = subjectHash(ca.certPem);
    writeFileSync(join(dir, `${h}.0`), ca.certPem);
    writeFileSync(join(dir, `${h}.r0`), (await createCrl(ca, [])).toString('pem'));
    const reloads: number[] = [];
    const trust = new TrustDirectory([dir], [dir], 0, (s) => reloads.push(s.crls.length));
    expect(trust.current().crls[0]!.crl.findRevoked(user.cert)).to.equal(null);
    // fetch-crl writes a temporary file and renames it over HASH.r0
    writeFileSync(join(dir, `${h}.r0.tmp`), (await createCrl(ca, [user.cert])).toString('pem'));
    renameSync(join(dir, `${h}.r0.tmp`), join(dir, `${h}.r0`));
    expect(trust.current().crls[0]!.crl.findRevoked(user.cert)).to.not.equal(null);
    expect(reloads).to.deep.equal([1]);
    expect(trust.current().crls).to.have.length(1);
    expect(reloads, 'no change, no reload').to.have.length(1);
  });
});
