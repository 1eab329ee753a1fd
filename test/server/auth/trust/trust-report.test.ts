import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCa } from '../../../../core/pki/install-ca.js';
import { loadTrust } from '../../../../core/pki/trust-directory.js';
import { reportTrust } from '../../../../server/auth/trust/trust-report.js';
import { createCa, createCrl } from '../../../support/pki.js';

describe('server/auth/trust/trust-report (what campaign-guard doctor prints)', function () {
  this.timeout(30000);
  it('names the CAs dCache would refuse: no policy, no CRL, an out-of-date CRL; and unreadable files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-doctor-'));
    const good = await createCa([{ DC: ['org'] }, { CN: ['Good CA'] }]);
    const bare = await createCa([{ DC: ['org'] }, { CN: ['Bare CA'] }]);
    const stale = await createCa([{ DC: ['org'] }, { CN: ['Stale CA'] }]);
    installCa(dir, { certPem: good.certPem, crlPem: (await createCrl(good, [])).toString('pem'), namespacePrefix: '/DC=org/' });
    installCa(dir, { certPem: bare.certPem });
    installCa(dir, { certPem: stale.certPem, crlPem: (await createCrl(stale, [], { thisUpdate: new Date('2024-01-01'), nextUpdate: new Date('2024-01-08') })).toString('pem'), namespacePrefix: '/DC=org/' });
    writeFileSync(join(dir, 'deadbeef.r0'), 'garbage');
    const byCa = (f: ReturnType<typeof reportTrust>) => Object.fromEntries(f.map((x) => [x.subject, x]));
    const findings = byCa(reportTrust(loadTrust([dir], [dir]), { namespaceMode: 'EUGRIDPMA_AND_GLOBUS_REQUIRE', crlMode: 'REQUIRE' }));
    expect(findings['/DC=org/CN=Good CA']).to.include({ ok: true });
    expect(findings['/DC=org/CN=Bare CA']!.detail).to.match(/no \.namespaces or \.signing_policy.*; no CRL/);
    expect(findings['/DC=org/CN=Stale CA']!.detail).to.match(/CRL out of date since 2024-01-08/);
    expect(findings['(file)']!.detail).to.match(/deadbeef\.r0: not a CRL/);
    const relaxed = byCa(reportTrust(loadTrust([dir], [dir]), { namespaceMode: 'IGNORE', crlMode: 'IF_VALID' }));
    expect(relaxed['/DC=org/CN=Bare CA']).to.include({ ok: true });
  });
});
