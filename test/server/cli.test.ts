import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { AuditTrail } from '../../server/audit/trail.js';

describe('campaign-guard CLI (audit)', function () {
  this.timeout(30000);
  const run = (dataDir: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], { env: { ...process.env, CG_PORTAL__DATA_DIR: dataDir }, encoding: 'utf8' });

  it('verifies an intact trail, exports it as JSON Lines, and exits 1 naming the record after tampering', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cg-cli-'));
    const trail = new AuditTrail(join(dataDir, 'audit.sqlite'));
    for (let i = 0; i < 3; i++) trail.append({ actor: 'pat', actorIdentity: '/CN=Pat', sourceIp: '::1', action: 'embargo.change', target: `c${i}`, details: { reason: 'r' } });
    trail.close();
    const ok = run(dataDir, 'audit', 'verify');
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.include('audit trail intact: 3 records');
    const exported = run(dataDir, 'audit', 'export').stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    expect(exported.map((r) => r.seq)).to.deep.equal([1, 2, 3]);
    const raw = new Database(join(dataDir, 'audit.sqlite'));
    raw.exec("DROP TRIGGER audit_no_update; UPDATE audit SET target = 'forged' WHERE seq = 2");
    raw.close();
    const bad = run(dataDir, 'audit', 'verify');
    expect(bad.status).to.equal(1);
    expect(bad.stdout).to.include('BROKEN at record 2');
  });
});
