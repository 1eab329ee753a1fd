import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { AuditTrail, hashRecord } from '../../../server/audit/trail.js';
import type { AuditEvent } from '../../../server/services/context.js';

const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  actor: 'pat', actorIdentity: '/DC=org/CN=Pat', sourceIp: '127.0.0.1', action: 'membership.approve', target: 'flare', details: { request: `r${i}`, z: 1, a: [2, { y: 1, b: 2 }] }, ...over,
});

describe('server/audit/trail', () => {
  let file: string;
  beforeEach(() => { file = join(mkdtempSync(join(tmpdir(), 'cg-audit-')), 'audit.sqlite'); });

  it('chains records and verifies an intact trail', () => {
    const t = new AuditTrail(file);
    const a = t.append(event(1));
    const b = t.append(event(2, { action: 'embargo.change', target: 'deep-field' }));
    expect(a.seq).to.equal(1);
    expect(b.prevHash).to.equal(a.hash);
    expect(t.verify()).to.deep.equal({ ok: true, count: 2 });
    expect(t.query({ action: 'embargo.change' }).map((r) => r.target)).to.deep.equal(['deep-field']);
    expect(t.query().map((r) => r.seq)).to.deep.equal([2, 1]);
    expect(t.query({ before: 2 }).map((r) => r.seq)).to.deep.equal([1]);
    t.close();
  });

  it('refuses UPDATE and DELETE through SQL', () => {
    const t = new AuditTrail(file);
    t.append(event(1));
    const raw = new Database(file);
    expect(() => raw.prepare("UPDATE audit SET actor = 'mallory'").run()).to.throw(/append-only/);
    expect(() => raw.prepare('DELETE FROM audit').run()).to.throw(/append-only/);
    raw.close();
    t.close();
  });

  it('detects an edited, a removed and a re-hashed record once the triggers are bypassed', () => {
    const t = new AuditTrail(file);
    for (let i = 1; i <= 5; i++) t.append(event(i));
    t.close();
    const tamper = (sql: string) => {
      const raw = new Database(file);
      raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
      raw.exec(sql);
      raw.close();
      return new AuditTrail(file).verify();
    };
    expect(tamper(`UPDATE audit SET details = '{"request":"forged"}' WHERE seq = 3`)).to.deep.include({ ok: false, brokenAt: 3 });
    // restore a clean trail, then delete one record
    file = join(mkdtempSync(join(tmpdir(), 'cg-audit-')), 'audit.sqlite');
    const t2 = new AuditTrail(file);
    for (let i = 1; i <= 5; i++) t2.append(event(i));
    t2.close();
    expect(tamper('DELETE FROM audit WHERE seq = 4')).to.deep.include({ ok: false, brokenAt: 5 });
    // an edit whose hash is recomputed breaks the link of the next record
    file = join(mkdtempSync(join(tmpdir(), 'cg-audit-')), 'audit.sqlite');
    const t3 = new AuditTrail(file);
    for (let i = 1; i <= 5; i++) t3.append(event(i));
    const forged = { ...t3.query({ before: 3, limit: 1 })[0]!, actor: 'mallory' };
    t3.close();
    const rehashed = hashRecord(forged);
    expect(tamper(`UPDATE audit SET actor = 'mallory', hash = '${rehashed}' WHERE seq = 2`)).to.deep.include({ ok: false, brokenAt: 3 });
  });

  it('keeps one chain when two processes append at once', async function () {
    this.timeout(30000);
    new AuditTrail(file).close();
    const script = `import { AuditTrail } from ${JSON.stringify(new URL('../../../server/audit/trail.ts', import.meta.url).pathname)};
      const t = new AuditTrail(process.argv[1]);
      for (let i = 0; i < 200; i++) t.append({ actor: 'p' + process.pid, actorIdentity: 'x', sourceIp: '::1', action: 'identity.bind', target: 't' + i });
      t.close();`;
    const run = () => new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(err))));
    });
    await Promise.all([run(), run()]);
    const t = new AuditTrail(file);
    expect(t.verify()).to.deep.equal({ ok: true, count: 400 });
    expect(new Set(t.query({ limit: 1000 }).map((r) => r.actor)).size).to.equal(2);
    t.close();
  });
});
