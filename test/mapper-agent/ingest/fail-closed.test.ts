/**
 * The invariants of docs/ingest.md ("a file is world-readable only if ..."), each tried the way an
 * attacker or a careless pipeline would, on real files as root in a temporary tree. Campaign facts
 * come from a fixed table here; the commands' tests run the same engine against a real slapd.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, opendirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { IngestEngine, type AppliedChange } from '../../../mapper-agent/ingest/engine.js';
import { liftEmbargoes } from '../../../mapper-agent/ingest/embargo.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { ingestWithPool } from '../../../mapper-agent/ingest/pool.js';
import { adler32, adler32Hex, adler32OfFd } from '../../../mapper-agent/rucio/adler32.js';
import { fitsFile, header } from '../../support/fits.js';

const PI = 12345;
const GID = 23456; // flare: embargo running
const OLD = GID + 1; // archive: embargo ended
const NOW = new Date('2026-11-24T00:00:00Z');

function facts(): Map<string, CampaignFacts> {
  return new Map<string, CampaignFacts>([
    ['flare', { name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') }],
    ['archive', { name: 'archive', piUid: PI + 1, gid: OLD, embargoEnd: new Date('2026-11-01T00:00:00Z') }],
    ['nopi', { name: 'nopi', gid: GID + 2 }],
  ]);
}

function mode(p: string): string {
  const st = statSync(p);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** The agent starting again after the crash: a new run in the same journal file. */
function restarted(j: Journal): Journal {
  j.close();
  return new Journal(j.file, 'restarted');
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('mapper-agent/ingest: embargo never leaks (as root, real files)', function () {
  let base: string;
  let root: string;
  let journal: Journal;
  let campaigns: Map<string, CampaignFacts>;
  const classifier = new Classifier(classificationSchema.parse({}));
  const modes = modesSchema.parse({});
  const engine = (over: Partial<ConstructorParameters<typeof IngestEngine>[0]> = {}) =>
    new IngestEngine({ roots: [root], classifier, modes, resolve: (c) => campaigns.get(c), journal, now: NOW, ...over });
  const put = (rel: string, data: Buffer | string, fileMode = 0o664, owner: [number, number] = [0, 0]) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    chmodSync(p, fileMode);
    chownSync(p, ...owner);
    return p;
  };

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-closed-'));
    root = join(base, 'data');
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
    journal = new Journal(join(base, 'journal.sqlite'), 'test');
    campaigns = facts();
  });
  afterEach(() => {
    try {
      journal.close();
    } catch {
      /* a test closed it */
    }
  });

  describe('1. fail closed, per file', () => {
    // NAXIS1 = 'x' made the next-HDU offset NaN (RangeError); a gzip stream broken right after its
    // header made zlib throw "invalid block type". Either used to stop the whole run.
    const corruptFz = () => Buffer.concat([header([['CAMPAIGN', 'flare']], [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 1], ['NAXIS1', 'x'], ['EXTEND', true]]), Buffer.alloc(2880)]);
    const corruptGz = () => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(64, 0xff)]);

    it('a corrupt neighbour is quarantined and the good files beside it are handled', async () => {
      const good = put('obs/good.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
      const fz = put('obs/bad.fits.fz', corruptFz(), 0o664, [777, 888]);
      const gz = put('obs/bad.fits.gz', corruptGz(), 0o666, [777, 888]);
      const report = await engine().ingest([join(root, 'obs')]);
      expect(mode(good)).to.equal(`${PI}:${GID} 0640`);
      expect(mode(fz)).to.equal('777:888 0660');
      expect(mode(gz)).to.equal('777:888 0660');
      expect(report).to.include({ changed: 1, quarantined: 2, refused: 0 });
      expect(report.problems.join('\n')).to.match(/bad\.fits\.fz: quarantined/).and.match(/bad\.fits\.gz: quarantined/);
    });

    it('the same in the worker pool: the directory is not skipped', async () => {
      const good = put('obs/good.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
      const fz = put('obs/bad.fits.fz', corruptFz(), 0o664, [777, 888]);
      const report = await ingestWithPool([join(root, 'obs')], {
        roots: [root], classification: classificationSchema.parse({}), modes, campaigns: [...campaigns.values()], journalPath: join(base, 'journal.sqlite'),
        dryRun: false, batchSize: 16, now: NOW.toISOString(), publicAreas: [],
      }, 2);
      expect(mode(good)).to.equal(`${PI}:${GID} 0640`);
      expect(mode(fz)).to.equal('777:888 0660');
      expect(report).to.include({ changed: 1, quarantined: 1 });
    });

    it('reports a change only once it is applied; a failed batch closes its descriptors and leaves nothing planned', async () => {
      const p = put('obs/sci.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
      const seen: string[] = [];
      await engine({ onChange: (c) => seen.push(`${c.path} ${mode(c.path)}`) }).ingest([join(root, 'obs')]);
      expect(seen).to.include(`${p} ${PI}:${GID} 0640`); // the callback saw the file already changed

      const q = put('obs/later.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o664);
      journal.close(); // the journal fails: nothing may be applied without its plan
      const fds = openFds();
      let failed: unknown;
      await engine().ingest([join(root, 'obs')]).catch((err: unknown) => (failed = err));
      expect(failed, 'the run reports the failure').to.be.an('error');
      expect(mode(q)).to.equal('0:0 0664');
      expect(openFds()).to.equal(fds);
    });
    it('a run that fails part-way through the files opened together closes every descriptor it holds, applied or not', async () => {
      // 40 files opened in one call; the 10th is refused and the run fails there (its onRefused throws)
      for (let i = 0; i < 40; i++) put(`obs/f${String(i).padStart(2, '0')}.fits`, fitsFile([['CAMPAIGN', 'flare']]), 0o664);
      const fds = openFds();
      let failed: unknown;
      let refused = 0;
      const run = engine({ batchSize: 4, onRefused: () => { refused++; throw new Error('stop here'); } });
      const linked = join(root, 'obs', 'f09.fits');
      writeFileSync(join(base, 'outside'), 'x');
      renameSync(linked, join(base, 'gone'));
      execFileSync('ln', [join(base, 'outside'), linked]); // two links: refused when opened
      await run.ingest([join(root, 'obs')]).catch((err: unknown) => (failed = err));
      expect((failed as Error).message).to.equal('stop here');
      expect(refused).to.equal(1);
      expect(openFds(), 'no descriptor left open').to.equal(fds);
      const listed: string[] = []; // the walk's order (getdents; readdirSync sorts)
      const listing = opendirSync(join(root, 'obs'));
      for (let e = listing.readSync(); e; e = listing.readSync()) listed.push(e.name);
      listing.closeSync();
      const before = listed.indexOf('f09.fits');
      const changed = listed.filter((n) => mode(join(root, 'obs', n)) === `${PI}:${GID} 0640`);
      expect(changed, 'the full batches before the failure, applied; the rest untouched').to.deep.equal(listed.slice(0, before - (before % 4)));
      expect(mode(join(base, 'outside'))).to.equal('0:0 0644');
    });
  });

  describe('2. lifting opens only what was classified as that campaign\'s data', () => {
    it('in a setgid directory of an ended campaign: quarantined, foreign, misspelt and unclassified files stay closed', async () => {
      mkdirSync(join(root, 'archive'), { mode: 0o2770 });
      chownSync(join(root, 'archive'), PI + 1, OLD);
      chmodSync(join(root, 'archive'), 0o2770);
      const own = put('archive/own.fits', fitsFile([['CAMPAIGN', 'archive']]), 0o640, [PI + 1, OLD]);
      const foreign = put('archive/foreign.fits', fitsFile([['CAMPAIGN', 'nopi']]), 0o660, [777, OLD]); // quarantined: PI gone
      const misspelt = put('archive/misspelt.fits', fitsFile([['CAMPAIGN', 'archvie']]), 0o660, [777, OLD]);
      const running = put('archive/running.fits', fitsFile([['CAMPAIGN', 'flare']]), 0o640, [PI, OLD]);
      const notes = put('archive/notes.txt', 'private notes', 0o640, [777, OLD]);
      const broken = put('archive/broken.fits', 'SIMPLE  = garbage', 0o640, [777, OLD]);
      const report = await liftEmbargoes({ roots: [root], campaigns: [...campaigns.values()], classifier, modes, journal, now: NOW });
      expect(report.campaigns).to.deep.equal(['archive', 'nopi']);
      expect(mode(own)).to.equal(`${PI + 1}:${OLD} 0644`);
      for (const p of [foreign, misspelt, running, notes, broken]) expect(mode(p), p).to.match(/0[0-7][0-7]0$/);
      expect(report).to.include({ lifted: 1, notLifted: 5 });
      const why = report.problems.join('\n');
      expect(why).to.match(/foreign\.fits: not lifted: .*nopi/).and.match(/misspelt\.fits: not lifted/).and.match(/running\.fits: not lifted: .*flare/)
        .and.match(/notes\.txt: not lifted/).and.match(/broken\.fits: not lifted/);
      expect(mode(join(root, 'archive')), 'setgid kept').to.equal(`${PI + 1}:${OLD} 2771`);
    });

    it('a re-embargo closes the released files of the campaign again, journaled; its public products stay public', async () => {
      const data = put('archive/data.fits', fitsFile([['CAMPAIGN', 'archive']]), 0o640, [PI + 1, OLD]);
      const ql = put('archive/data_ql.fits', fitsFile([['CAMPAIGN', 'archive'], ['LEVEL', 'QL']]), 0o644, [PI + 1, OLD]);
      const foreign = put('archive/notes.txt', 'public notes of someone', 0o644, [777, OLD]);
      await liftEmbargoes({ roots: [root], campaigns: [...campaigns.values()], classifier, modes, journal, now: NOW });
      expect(mode(data)).to.equal(`${PI + 1}:${OLD} 0644`);
      // The admin sets the embargo again (ALMA did this in 2020).
      campaigns.set('archive', { ...campaigns.get('archive')!, embargoEnd: new Date('2027-12-01T00:00:00Z') });
      const report = await liftEmbargoes({ roots: [root], campaigns: [...campaigns.values()], classifier, modes, journal, now: NOW });
      expect(mode(data)).to.equal(`${PI + 1}:${OLD} 0640`);
      expect(mode(ql), 'a quick-look stays public').to.equal(`${PI + 1}:${OLD} 0644`);
      expect(mode(foreign), 'not attributable: left as it is, reported').to.equal(`777:${OLD} 0644`);
      expect(report).to.include({ reclosed: 1, lifted: 0 });
      expect([...report.reclosedBy]).to.deep.equal([['archive', 1]]);
      expect(report.problems.join('\n')).to.match(/notes\.txt: not closed/);
      expect(journal.history(data).map((r) => `${r.kind} ${r.state}`)).to.deep.equal(['embargo-lift applied', 're-embargo applied']);
    });

    it('verify applies the same rule: a quarantined file is never "drift" towards public', async () => {
      const q = put('obs/unknown.fits', fitsFile([['CAMPAIGN', 'nosuch']]), 0o640, [777, OLD]);
      const drift: string[] = [];
      const r = await engine({ dryRun: true, onChange: (c) => drift.push(`${c.target.mode.toString(8)}`) }).ingest([root]);
      expect(drift.every((m) => (Number.parseInt(m, 8) & 0o004) === 0 || false), drift.join(',')).to.equal(true);
      expect(r.quarantined).to.equal(1);
      expect(mode(q)).to.equal(`777:${OLD} 0640`);
    });
  });

  describe('3. directory modes', () => {
    it('keep setgid and sticky; an embargoed file adds only group traverse, and only for its own group', async () => {
      for (const [dir, m] of [['sg', 0o2740], ['st', 0o3740], ['other', 0o750]] as const) {
        mkdirSync(join(root, dir));
        chownSync(join(root, dir), 0, dir === 'other' ? 4242 : GID);
        chmodSync(join(root, dir), m);
      }
      put('sg/a.fits', fitsFile([['CAMPAIGN', 'flare']]));
      put('st/a.fits', fitsFile([['CAMPAIGN', 'flare']]));
      put('other/a.fits', fitsFile([['CAMPAIGN', 'flare']]));
      const r = await engine().ingest([root]);
      expect(mode(join(root, 'sg'))).to.equal(`0:${GID} 2750`);
      expect(mode(join(root, 'st'))).to.equal(`0:${GID} 3750`);
      expect(mode(join(root, 'other')), 'no widening for a group that does not help').to.equal('0:4242 0750');
      expect(mode(root), 'the root: no world traverse for embargoed data').to.equal('0:0 0755');
      expect(r.problems.join('\n')).to.match(/other: directory left as is: .*not the files' group/);
    });

    it('no world traverse for a directory of embargoed files: a note beside them stays out of reach', async () => {
      chmodSync(root, 0o750);
      mkdirSync(join(root, 'private'));
      chownSync(join(root, 'private'), PI, GID);
      chmodSync(join(root, 'private'), 0o750);
      put('private/a.fits', fitsFile([['CAMPAIGN', 'flare']]));
      await engine().ingest([root]);
      expect(mode(join(root, 'private'))).to.equal(`${PI}:${GID} 0750`);
      expect(statSync(root).mode & 0o001, 'root: world traverse not added').to.equal(0);
    });

    it('a public file gets world traverse on its way (the documented trade-off)', async () => {
      mkdirSync(join(root, 'ql'));
      chmodSync(join(root, 'ql'), 0o750);
      put('ql/a.fits', fitsFile([['CAMPAIGN', 'flare'], ['LEVEL', 'QL']]));
      await engine().ingest([root]);
      expect(mode(join(root, 'ql'))).to.equal('0:0 0751');
    });
  });

  describe('4. public by name only when attributable', () => {
    it("a user's 0600 credentials.json and an orphan preview keep their modes; a product's sidecar and a public area open", async () => {
      const creds = put('home/credentials.json', '{"token":"secret"}', 0o600, [777, 888]);
      const orphan = put('home/preview.png', 'png', 0o600, [777, 888]);
      put('obs/obs1.fits', fitsFile([['CAMPAIGN', 'flare']]));
      const ql = put('obs/obs1_ql.png', 'png', 0o600, [777, 888]);
      const meta = put('obs/obs1.meta.json', '{}', 0o600, [777, 888]);
      const area = put('public/site/logo.png', 'png', 0o600, [777, 888]);
      const r = await engine({ publicAreas: [join(root, 'public')] }).ingest([root]);
      expect(mode(creds)).to.equal('777:888 0600');
      expect(mode(orphan)).to.equal('777:888 0600');
      expect(mode(ql)).to.equal(`${PI}:${GID} 0644`);
      expect(mode(meta)).to.equal(`${PI}:${GID} 0644`);
      expect(mode(area)).to.equal('777:888 0644');
      expect(r.problems.join('\n')).to.match(/credentials\.json: left alone: .*not attributable/);
    });
  });

  describe('5. recovery re-evaluates', () => {
    it('a lift planned before a crash is not replayed by ingest, nor by lifting once the embargo was extended', async () => {
      const f = put('archive/f.fits', fitsFile([['CAMPAIGN', 'archive']]), 0o640, [PI + 1, OLD]);
      const st = statSync(f);
      // A killed `embargo` run: its batch was planned (journaled) but never confirmed.
      const crashed = new Journal(join(base, 'journal.sqlite'), 'embargo (killed)');
      crashed.plan([{ path: f, dev: st.dev, ino: st.ino, campaign: 'archive', kind: 'embargo-lift', before: { uid: PI + 1, gid: OLD, mode: 0o640 }, target: { uid: PI + 1, gid: OLD, mode: 0o644 }, reason: 'embargo of archive ended' }]);
      journal = restarted(journal);
      // The directory's admin extends the embargo before the agent runs again.
      campaigns.set('archive', { ...campaigns.get('archive')!, embargoEnd: new Date('2027-12-01T00:00:00Z') });
      const e = engine();
      const resumed = await e.resume();
      expect(resumed.finished + resumed.dropped + resumed.skipped, 'ingest leaves lift plans alone').to.equal(0);
      put('obs/unrelated.fits', fitsFile([['CAMPAIGN', 'flare']]));
      await e.ingest([join(root, 'obs')]);
      expect(mode(f)).to.equal(`${PI + 1}:${OLD} 0640`);
      const lift = await liftEmbargoes({ roots: [root], campaigns: [...campaigns.values()], classifier, modes, journal, now: NOW });
      expect(lift.resumed.dropped).to.equal(1);
      expect(lift.problems.join('\n')).to.match(/stale plan dropped/);
      expect(mode(f)).to.equal(`${PI + 1}:${OLD} 0640`);
      expect(journal.pending(['embargo-lift']), 'nothing left planned').to.have.length(0);
      crashed.close();
    });

    it('an ingest plan whose target policy no longer gives is dropped, and the file gets what policy says now', async () => {
      const f = put('obs/g.fits', fitsFile([['CAMPAIGN', 'archive']]), 0o664);
      const st = statSync(f);
      const crashed = new Journal(join(base, 'journal.sqlite'), 'ingest (killed)');
      // planned while archive's embargo had ended: public
      crashed.plan([{ path: f, dev: st.dev, ino: st.ino, campaign: 'archive', kind: 'ingest', before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: PI + 1, gid: OLD, mode: 0o644 }, reason: 'x' }]);
      journal = restarted(journal);
      campaigns.set('archive', { ...campaigns.get('archive')!, embargoEnd: new Date('2027-12-01T00:00:00Z') });
      const resumed = await engine().resume();
      expect(resumed.dropped).to.equal(1);
      expect(mode(f)).to.equal(`${PI + 1}:${OLD} 0640`);
      crashed.close();
    });
  });

  describe('6. any depth', () => {
    it('a file 5000 characters deep is ingested and lifted, descriptor-relative', async () => {
      const names = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(98)}`);
      const cwd = process.cwd();
      try {
        process.chdir(root);
        for (const n of names) {
          mkdirSync(n);
          process.chdir(n);
        }
        writeFileSync('deep.fits', fitsFile([['CAMPAIGN', 'archive']]));
        chmodSync('deep.fits', 0o600);
        writeFileSync('deeper.fits', fitsFile([['CAMPAIGN', 'flare']]));
        chmodSync('deeper.fits', 0o666);
      } finally {
        process.chdir(cwd);
      }
      const deepPath = join(root, ...names, 'deep.fits');
      expect(deepPath.length).to.be.above(5000);
      const r = await engine().ingest([root]);
      expect(r).to.include({ refused: 0, changed: 2 });
      const at = (name: string) => {
        try {
          process.chdir(join(root, names[0]!));
          for (const n of names.slice(1)) process.chdir(n);
          return mode(name);
        } finally {
          process.chdir(cwd);
        }
      };
      expect(at('deep.fits')).to.equal(`${PI + 1}:${OLD} 0644`);
      expect(at('deeper.fits')).to.equal(`${PI}:${GID} 0640`);
    });
  });

  describe('7. reads as root go through the verified descriptor', () => {
    it('a symlink swapped in for the file before its checksum changes nothing: the descriptor is read, not the path', async () => {
      const content = fitsFile([['CAMPAIGN', 'flare']], 9000);
      const p = put('obs/sum.fits', content);
      const sums: string[] = [];
      await engine({
        afterApply: async (applied: AppliedChange[]) => {
          for (const a of applied) {
            renameSync(a.change.path, `${a.change.path}.moved`);
            symlinkSync('/dev/zero', a.change.path); // an attacker's swap between apply and checksum
            sums.push(adler32OfFd(a.fd, a.size).adler32);
          }
        },
      }).ingest([p]);
      expect(sums).to.deep.equal([adler32Hex(adler32(content))]);
      expect(readFileSync(`${p}.moved`).equals(content)).to.equal(true);
    });
  });
});
