import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { AuditTrail, hashRecord } from '../../../server/audit/trail.js';
import type { AuditEvent } from '../../../server/services/context.js';

const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  actor: 'pat', actorIdentity: '/DC=org/CN=Pat', sourceIp: '127.0.0.1', action: 'membership.approve', target: 'flare', details: { request: `r${i}`, z: 1, a: [2, { y: 1, b: 2 }] }, ...over,
});

/** Returns once the clock has moved to the next millisecond. */
const nextMillisecond = () => {
  const now = Date.now();
  while (Date.now() === now);
};

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

  it('filters by an action family (a prefix ending in a dot) and a time range', () => {
    const t = new AuditTrail(file);
    // Each record in a millisecond of its own: the time range is on the records' times (two in one millisecond
    // are both at or after it; seen in CI when 2 and 3 shared one).
    t.append(event(1));
    nextMillisecond();
    t.append(event(2, { action: 'membership.deny' }));
    nextMillisecond();
    t.append(event(3, { action: 'embargo.change' }));
    nextMillisecond();
    t.append(event(4, { action: 'embargo.extension-request' }));
    expect(t.query({ action: 'membership.' }).map((r) => r.action)).to.deep.equal(['membership.deny', 'membership.approve']);
    expect(t.query({ action: 'embargo.' }).map((r) => r.seq)).to.deep.equal([4, 3]);
    expect(t.query({ action: 'embargo' }), 'without the dot: an exact name').to.deep.equal([]);
    expect(t.query({ action: 'membership%' }), 'no SQL wildcards').to.deep.equal([]);
    const third = t.query({ before: 4, limit: 1 })[0]!.at;
    expect(t.query({ since: third }).map((r) => r.seq)).to.deep.equal([4, 3]);
    expect(t.query({ until: third }).map((r) => r.seq)).to.deep.equal([2, 1]);
    expect(t.query({ since: '2999-01-01T00:00:00.000Z' })).to.deep.equal([]);
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
    expect(tamper(`UPDATE audit SET actor = 'mallory', hash = '${rehashed}' WHERE seq = 2`)).to.deep.include({ ok: false, brokenAt: 2, reason: 'signature does not verify (record forged or re-hashed without the key)' });
  });

  it('detects the newest records removed, a reorder, and a whole chain re-hashed and re-signed with another key', () => {
    const fresh = () => {
      file = join(mkdtempSync(join(tmpdir(), 'cg-audit-')), 'audit.sqlite');
      const t = new AuditTrail(file);
      for (let i = 1; i <= 5; i++) t.append(event(i));
      t.close();
    };
    const raw = (fn: (db: Database.Database) => void) => {
      const db = new Database(file);
      db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
      fn(db);
      db.close();
      const t = new AuditTrail(file);
      const check = t.verify();
      t.close();
      return check;
    };
    fresh();
    expect(raw((db) => db.exec('DELETE FROM audit WHERE seq >= 4'))).to.deep.include({ ok: false, brokenAt: 4, reason: 'the head says 5 records, the trail ends at 3: the newest records were removed' });
    fresh();
    expect(raw((db) => db.exec('UPDATE audit SET seq = seq + 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 102;'))).to.deep.include({ ok: false, brokenAt: 2 });
    fresh();
    // The attacker recomputes every hash and signs with a key of their own: the portal's public key refuses it.
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(raw((db) => {
      let prev = '0'.repeat(64);
      for (const r of db.prepare('SELECT * FROM audit ORDER BY seq').all() as { seq: number; at: string; actor: string; actor_identity: string; source_ip: string; action: string; target: string; details: string }[]) {
        const forged = { seq: r.seq, at: r.at, actor: 'mallory', actorIdentity: r.actor_identity, sourceIp: r.source_ip, action: r.action as AuditEvent['action'], target: r.target, details: JSON.parse(r.details), prevHash: prev };
        const hash = hashRecord(forged);
        db.prepare('UPDATE audit SET actor = ?, prev_hash = ?, hash = ?, signature = ? WHERE seq = ?').run('mallory', prev, hash, sign(null, Buffer.from(hash), privateKey).toString('base64'), r.seq);
        prev = hash;
      }
    })).to.deep.include({ ok: false, brokenAt: 1 });
  });

  it('keeps its key outside the database (0600, created on first start) and its public key for auditors', () => {
    const t = new AuditTrail(file);
    t.append(event(1));
    expect(statSync(`${file}.key`).mode & 0o777).to.equal(0o600);
    expect(readFileSync(`${file}.key.pub`, 'utf8')).to.equal(t.publicKeyPem);
    const again = new AuditTrail(file);
    expect(again.publicKeyPem, 'the same key on the next start').to.equal(t.publicKeyPem);
    t.close();
    again.close();
  });

  it('an auditor verifies an export with the public key alone: the CLI, and one record with openssl pkeyutl', function () {
    this.timeout(30000);
    const t = new AuditTrail(file);
    for (let i = 1; i <= 3; i++) t.append(event(i));
    const records = [...t.all()];
    t.close();
    const dir = join(file, '..');
    writeFileSync(join(dir, 'export.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', new URL('../../../server/cli.ts', import.meta.url).pathname, 'audit', 'verify', ...args], { encoding: 'utf8' });
    const ok = cli(['--export', join(dir, 'export.jsonl'), '--public-key', `${file}.key.pub`, '--head', `${file}.head`]);
    expect(ok.stdout).to.include('audit trail intact: 3 records');
    expect(ok.status).to.equal(0);
    writeFileSync(join(dir, 'cut.jsonl'), records.slice(0, 2).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cut = cli(['--export', join(dir, 'cut.jsonl'), '--public-key', `${file}.key.pub`, '--head', `${file}.head`]);
    expect(cut.stdout).to.match(/BROKEN at record 3: .*newest records were removed/);
    expect(cut.status).to.equal(1);
    // OpenSSL 3, independent of our code: Ed25519 over the record's hash text.
    writeFileSync(join(dir, 'msg'), records[1]!.hash);
    writeFileSync(join(dir, 'sig'), Buffer.from(records[1]!.signature, 'base64'));
    const v = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', `${file}.key.pub`, '-rawin', '-in', join(dir, 'msg'), '-sigfile', join(dir, 'sig')], { encoding: 'utf8' });
    expect(v.stdout).to.match(/Signature Verified Successfully/);
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
