/**
 * Traces of what the agent applies, on real files as root in a temporary tree: ingest, quarantine,
 * directory traverse bits, embargo lift and verify --fix each leave a record; checksums are those
 * of the content read through the descriptor the change was applied through (a file renamed over
 * the path afterwards changes nothing); the store verifies. Then the commands themselves against a
 * real slapd, with agent.traces on, and `traces verify` over what they wrote.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { Directory } from '../../../core/directory/index.js';
import { rangesConfigSchema } from '../../../core/ldap/config.js';
import { createLogger } from '../../../core/log.js';
import { agentConfigSchema } from '../../../mapper-agent/config.js';
import { IngestEngine, type AppliedChange } from '../../../mapper-agent/ingest/engine.js';
import { liftEmbargoes } from '../../../mapper-agent/ingest/embargo.js';
import { embargoCommand, ingestCommand, verifyCommand } from '../../../mapper-agent/ingest/commands.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { adler32, adler32Hex } from '../../../mapper-agent/rucio/adler32.js';
import { loadSigner } from '../../../core/pki/cms.js';
import type { TraceRecord } from '../../../mapper-agent/traces/record.js';
import { TraceSession } from '../../../mapper-agent/traces/session.js';
import { TraceStore } from '../../../mapper-agent/traces/store.js';
import { loadTraceTrust } from '../../../mapper-agent/traces/trust.js';
import { verifyStore } from '../../../mapper-agent/traces/verify.js';
import { tracesVerify } from '../../../mapper-agent/traces/commands.js';
import { fitsFile } from '../../support/fits.js';
import { useManagedSlapd } from '../../support/slapd.js';
import { startRucioStub } from '../../support/rucio-stub.js';
import { makePki, type TestPki } from './pki.js';

const PI = 12345;
const GID = 23456; // flare: embargo running
const OLD = GID + 1; // archive: embargo ended
const NOW = new Date('2026-11-24T00:00:00Z');
const HOST = 'storage.example.org';

const hashesOf = (data: Buffer) => [
  { alg: 'sha256', value: createHash('sha256').update(data).digest('hex') },
  { alg: 'sha3-256', value: createHash('sha3-256').update(data).digest('hex') },
  { alg: 'adler32', value: adler32Hex(adler32(data)) },
];

describe('mapper-agent/traces: every applied decision is traced (as root, real files)', function () {
  let base: string;
  let root: string;
  let pki: TestPki;
  let host: Awaited<ReturnType<TestPki['host']>>;
  let journal: Journal;
  let storeFile: string;
  const campaigns = new Map<string, CampaignFacts>([
    ['flare', { name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') }],
    ['archive', { name: 'archive', piUid: PI + 1, gid: OLD, embargoEnd: new Date('2026-11-01T00:00:00Z') }],
  ]);
  const classifier = new Classifier(classificationSchema.parse({}));
  const modes = modesSchema.parse({});
  const put = (rel: string, data: Buffer | string, fileMode = 0o664, owner: [number, number] = [0, 0]) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    chmodSync(p, fileMode);
    chownSync(p, ...owner);
    return p;
  };
  const session = (command: string, extra: { ingestEvent?: 'fix' } = {}) =>
    new TraceSession(new TraceStore(storeFile, { signer: loadSigner(host.certFile, host.keyFile), batchSize: 3 }), { command, run: journal.run, ...extra });
  const hooks = (s: TraceSession, before?: (a: AppliedChange[]) => void) => ({
    onChange: s.onChange,
    afterApply: async (applied: AppliedChange[]) => {
      before?.(applied);
      s.afterApply(applied);
    },
  });
  const records = (): TraceRecord[] => {
    const store = new TraceStore(storeFile, { readonly: true });
    try {
      return [...store.traces()].map((t) => JSON.parse(t.text) as TraceRecord);
    } finally {
      store.close();
    }
  };
  const verified = async () => {
    const store = new TraceStore(storeFile, { readonly: true });
    try {
      return await verifyStore(store, loadTraceTrust([pki.dir], [pki.dir], 'require'));
    } finally {
      store.close();
    }
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    base = mkdtempSync(join(tmpdir(), 'cg-traced-'));
    pki = await makePki(base);
    host = await pki.host(HOST);
  });
  beforeEach(() => {
    root = mkdtempSync(join(base, 'data-'));
    chmodSync(root, 0o755);
    storeFile = join(root, '..', `traces-${root.slice(-6)}.sqlite`);
    journal = new Journal(join(root, '..', `journal-${root.slice(-6)}.sqlite`), 'test');
  });
  afterEach(() => journal.close());
  after(() => base && rmSync(base, { recursive: true, force: true }));

  it('ingest, quarantine and directory changes leave records; checksums come from the descriptor the change was applied through', async () => {
    const good = fitsFile([['CAMPAIGN', 'flare']], 5000);
    const a = put('flare/a.fits', good);
    const bad = put('flare/bad.fits', Buffer.concat([Buffer.from('SIMPLE  =                    T'), Buffer.alloc(100, 0x41)]), 0o644);
    put('flare/ql/b.fits', fitsFile([['CAMPAIGN', 'flare'], ['LEVEL', 'QL']], 100));
    chmodSync(join(root, 'flare'), 0o750);
    chmodSync(join(root, 'flare', 'ql'), 0o700);
    const impostor = join(root, '..', `impostor-${root.slice(-6)}`); // outside the root, same file system
    writeFileSync(impostor, 'not the file that was ingested');
    const s = session('ingest (test)');
    // after the change was applied, another file is renamed over a.fits: the trace must still be of the ingested content
    const engine = new IngestEngine({ roots: [root], classifier, modes, resolve: (c) => campaigns.get(c), journal, now: NOW, batchSize: 2, ...hooks(s, () => existsSync(impostor) && renameSync(impostor, a)) });
    const report = await engine.ingest([root]);
    s.close();
    expect(report.quarantined).to.equal(1);
    expect(readFileSync(a, 'utf8'), 'the path was swapped after the change').to.equal('not the file that was ingested');
    const rs = records();
    const byPath = (p: string) => rs.filter((r) => r.path === p);
    const ingested = byPath(a)[0]!;
    expect(ingested).to.deep.include({ event: 'ingest', campaign: 'flare', name: 'a.fits', size: good.length, host: HOST, products: [] });
    expect(ingested.hashes).to.deep.equal(hashesOf(good));
    expect(ingested.before).to.deep.equal({ uid: 0, gid: 0, mode: '0664' });
    expect(ingested.after).to.deep.equal({ uid: PI, gid: GID, mode: '0640' });
    expect(ingested.context).to.deep.include({ command: 'ingest (test)', run: journal.run });
    expect(ingested.decision).to.be.a('string').and.not.equal('');
    const q = byPath(bad)[0]!;
    // The engine hands quarantines to afterApply too: their traces carry checksums read through the descriptor.
    expect(q).to.deep.include({ event: 'quarantine', campaign: null, size: readFileSync(bad).length });
    expect(q.hashes).to.deep.equal(hashesOf(readFileSync(bad)));
    expect(q.before.mode).to.equal('0644');
    expect(q.after.mode).to.equal('0640');
    expect(q.decision).to.contain('unreadable FITS header');
    const dirs = rs.filter((r) => r.event === 'directory').map((r) => r.path);
    expect(dirs).to.include(join(root, 'flare', 'ql'));
    expect(rs.map((r) => r.seq)).to.deep.equal(rs.map((_, i) => i + 1));
    const v = await verified();
    expect(v.problems).to.deep.equal([]);
    expect(v).to.include({ ok: true, unsealed: 0 });
    expect(v.batches).to.equal(Math.ceil(rs.length / 3));
  });

  it('an embargo lift and a verify --fix leave records of their own kind, with checksums', async () => {
    const data = fitsFile([['CAMPAIGN', 'archive']], 3000);
    const f = put('archive/old.fits', data, 0o640, [PI + 1, OLD]);
    const s = session('embargo (test)');
    const lift = await liftEmbargoes({ roots: [root], campaigns: [...campaigns.values()], classifier, modes, journal, now: NOW, ...hooks(s) });
    s.close();
    expect(lift.lifted).to.equal(1);
    const lifted = records().find((r) => r.path === f)!;
    expect(lifted).to.deep.include({ event: 'embargo-lift', campaign: 'archive' });
    expect(lifted.after.mode).to.equal('0644');
    expect(lifted.hashes).to.deep.equal(hashesOf(data));

    const g = put('flare/drift.fits', fitsFile([['CAMPAIGN', 'flare']], 10), 0o644, [PI, GID]);
    const fix = session('verify --fix (test)', { ingestEvent: 'fix' });
    await new IngestEngine({ roots: [root], classifier, modes, resolve: (c) => campaigns.get(c), journal, now: NOW, ...hooks(fix) }).ingest([g]);
    fix.close();
    const fixed = records().find((r) => r.path === g)!;
    expect(fixed).to.deep.include({ event: 'fix', campaign: 'flare' });
    expect(fixed.before.mode).to.equal('0644');
    expect(fixed.after.mode).to.equal('0640');
    expect(fixed.hashes.map((h) => h.alg)).to.deep.equal(['sha256', 'sha3-256', 'adler32']);
    expect((await verified()).ok).to.equal(true);
  });

  it('a quarantine handed to afterApply with its descriptor (the proposed engine change) is traced with checksums', () => {
    const data = Buffer.from('SIMPLE  = garbage');
    const p = put('q/broken.fits', data, 0o644);
    const s = session('ingest (test)');
    const change = { path: p, dev: 0, ino: 0, kind: 'quarantine' as const, before: { uid: 0, gid: 0, mode: 0o100644 }, target: { uid: 0, gid: 0, mode: 0o100640 }, reason: 'unreadable FITS header: test' };
    const fd = openSync(p, 'r');
    try {
      s.onChange(change);
      s.afterApply([{ change, fd, size: data.length }]);
    } finally {
      closeSync(fd);
    }
    s.close();
    const [r] = records();
    expect(r).to.deep.include({ event: 'quarantine', size: data.length });
    expect(r!.hashes).to.deep.equal(hashesOf(data));
    expect(r!.before.mode).to.equal('0644');
  });

  describe('the commands with agent.traces on (real slapd)', function () {
    const fx = useManagedSlapd();
    it('ingest, verify --fix and embargo write traces that `traces verify` accepts; a dry run writes none', async () => {
      const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
      await dir.people.create({ username: 'tia', displayName: 'Tia' });
      await dir.campaigns.create({ name: 'traced', pi: 'tia', embargoEnd: new Date(Date.now() + 86400_000) });
      const state = join(root, '..', `state-${root.slice(-6)}`);
      const cfg = agentConfigSchema.parse({
        ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
        agent: { stateDir: state, ingest: { roots: [root], noticeDays: 0, workers: 2 }, traces: { enabled: true, certFile: host.certFile, keyFile: host.keyFile, caPaths: [pki.dir], batchSize: 2 } },
      });
      const lines: string[] = [];
      const ctx = { cfg, ldap: fx.agent, log: createLogger('test'), out: (l: string) => lines.push(l) };
      const p = put('obs/t1.fits', fitsFile([['CAMPAIGN', 'traced']], 100));
      put('obs/t2.fits', fitsFile([['CAMPAIGN', 'traced']], 200));
      await ingestCommand(ctx, [join(root, 'obs')], { dryRun: true });
      const store = join(state, 'traces.sqlite');
      const count = () => {
        const s = new TraceStore(store, { readonly: true });
        try {
          return [...s.traces()].map((t) => JSON.parse(t.text) as TraceRecord);
        } finally {
          s.close();
        }
      };
      expect(() => count()).to.throw(); // no store: nothing traced by a dry run
      await ingestCommand(ctx, [join(root, 'obs')], { dryRun: false }); // two workers configured: traces keep it in the main thread
      expect(count().filter((r) => r.event === 'ingest').map((r) => r.name).sort()).to.deep.equal(['t1.fits', 't2.fits']);
      chmodSync(p, 0o644);
      await verifyCommand(ctx, root, { fix: true });
      expect(count().filter((r) => r.event === 'fix').map((r) => r.name)).to.deep.equal(['t1.fits']);
      await dir.campaigns.setEmbargoEnd('traced', new Date(Date.now() - 1000));
      await embargoCommand(ctx, { dryRun: false });
      const lifted = count().filter((r) => r.event === 'embargo-lift');
      expect(lifted.map((r) => r.name).sort()).to.deep.equal(['t1.fits', 't2.fits']);
      expect(lifted.find((r) => r.name === 't1.fits')!.hashes[0]!.value).to.equal(createHash('sha256').update(readFileSync(p)).digest('hex'));
      const out: string[] = [];
      const r = await tracesVerify(cfg, (l) => out.push(l));
      expect(r.problems).to.deep.equal([]);
      expect(out[0]).to.match(/^ok: \d+ traces in \d+ signed batches, 0 not signed yet; signed by CN=storage.example.org/);
    });

    it("with Rucio on, Rucio gets the Adler-32 computed in the trace's pass over the descriptor, and the trace carries it", async () => {
      const stub = await startRucioStub();
      try {
        const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
        await dir.people.create({ username: 'rui', displayName: 'Rui' });
        await dir.campaigns.create({ name: 'rtraced', pi: 'rui', embargoEnd: new Date(Date.now() + 86400_000) });
        const state = join(root, '..', `state-r-${root.slice(-6)}`);
        const cfg = agentConfigSchema.parse({
          ldap: { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn },
          agent: {
            stateDir: state, ingest: { roots: [root], noticeDays: 0 },
            rucio: { enabled: true, url: stub.url, account: 'cg', username: 'cg-agent', password: 's3cret', rse: 'DCACHE_DISK', pfnPrefixes: { [root]: 'davs://dcache.example.org:2880/data' } },
            traces: { enabled: true, certFile: host.certFile, keyFile: host.keyFile, caPaths: [pki.dir] },
          },
        });
        const data = fitsFile([['CAMPAIGN', 'rtraced']], 70_000);
        put('r/x.fits', data);
        await ingestCommand({ cfg, ldap: fx.agent, log: createLogger('test') }, [join(root, 'r')], { dryRun: false });
        expect(stub.violations).to.deep.equal([]);
        const replica = stub.replicas.get('DCACHE_DISK:rtraced:r/x.fits')!;
        expect(replica.adler32).to.equal(adler32Hex(adler32(data)));
        expect(replica.bytes).to.equal(data.length);
        const s = new TraceStore(join(state, 'traces.sqlite'), { readonly: true });
        const [t] = [...s.traces()].map((x) => JSON.parse(x.text) as TraceRecord).filter((r) => r.name === 'x.fits');
        s.close();
        expect(t!.hashes).to.deep.equal(hashesOf(data));
      } finally {
        await stub.close();
      }
    });
  });
});
