/**
 * Header seals (mapper-agent/ingest/seal.ts): the format, the rule for recording one and for
 * trusting one, then on real files as root: lifting and re-embargo decide from the seal only while
 * the file is the one that was read, and read the header again after anything that could have
 * changed it (a rewrite with its mtime put back, a replacement, a rename, other rules, a write
 * between the read and the change, a file not yet quiet).
 *
 * What the rule rests on, from the kernel's own documentation: stat(2) / inode(7) ("st_ctime: the
 * file's last status change timestamp ... changed by writing or by setting inode information (owner,
 * group, link count, mode, etc.)"; "st_mtime ... changed by file modifications, e.g. by write(2)");
 * utimensat(2): setting timestamps sets ctime to the current time; rename(2) updates the inode's
 * ctime on ext4, XFS and Btrfs (our tree lives on whatever /tmp is, and a rename here is caught by
 * the name, not the ctime).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Classifier } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import type { CampaignFacts } from '../../../core/embargo/policy.js';
import { IngestEngine } from '../../../mapper-agent/ingest/engine.js';
import { liftEmbargoes } from '../../../mapper-agent/ingest/embargo.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';
import { decodeSeals, DirectorySeals, encodeSeals, QUIET_MS, rulesFingerprint, SealCache, sealHolds, sealOf, type ScienceClassification, type SealedFile } from '../../../mapper-agent/ingest/seal.js';
import type { FileStat } from '../../../mapper-agent/ingest/safe-file.js';
import { fitsFile } from '../../support/fits.js';

const science = (over: Partial<ScienceClassification> = {}): ScienceClassification => ({
  kind: 'science', campaign: 'flare', reason: 'CAMPAIGN = flare in the primary HDU', source: { hdu: 0, hduKind: 'primary', keyword: 'CAMPAIGN' }, ...over,
});
const stamp = (size: number, mtimeMs: number, ctimeMs: number) => ({ size, mtimeMs, ctimeMs });

describe('mapper-agent/ingest/seal: format and rules', () => {
  it('round-trips every field, observation dates of both kinds and none; shared strings once', () => {
    const files: SealedFile[] = [
      { dir: '/data/obs', name: 'a.fits', dev: 2049, ino: 1234567, seal: { classification: science(), rules: 'r1', stamp: stamp(5760, 1764633600123.4568, 1764633700000.125) } },
      { dir: '/data/obs', name: 'b.fits', dev: 2049, ino: 7, seal: { classification: science({ observed: { kind: 'date', date: new Date('2026-01-02T03:04:05.678Z'), text: '2026-01-02T03:04:05.678', hdu: 1 } }), rules: 'r1', stamp: stamp(2880, 1, 2) } },
      { dir: '/data/other', name: 'c d.fits', dev: 1, ino: 8, seal: { classification: science({ campaign: 'sky', observed: { kind: 'invalid', text: '02/01/26', hdu: 0, reason: 'is not a FITS date' }, source: { hdu: 2, hduKind: 'compressed-image', keyword: 'PROPOSID' } }), rules: 'r2', stamp: stamp(0, 3, 4) } },
    ];
    const json = encodeSeals(files);
    expect(decodeSeals(json)).to.deep.equal(files);
    const doc = JSON.parse(json) as { s: string[] };
    expect(doc.s.filter((s) => s === '/data/obs')).to.have.length(1);
    expect(doc.s.filter((s) => s === 'CAMPAIGN = flare in the primary HDU')).to.have.length(1);
  });

  it('refuses a document of another version or shape (the header is read instead)', () => {
    const good = JSON.parse(encodeSeals([{ dir: '/d', name: 'a', dev: 1, ino: 2, seal: { classification: science(), rules: 'r', stamp: stamp(1, 2, 3) } }])) as { v: number; s: string[]; f: unknown[][] };
    const bad = (mutate: (d: typeof good) => void) => {
      const d = JSON.parse(JSON.stringify(good)) as typeof good;
      mutate(d);
      return () => decodeSeals(JSON.stringify(d));
    };
    expect(bad((d) => (d.v = 2))).to.throw(/version 1/);
    expect(bad((d) => d.f[0]!.pop())).to.throw(/14 fields/);
    expect(bad((d) => (d.f[0]![5] = 99))).to.throw(/string 99 is missing/);
    expect(bad((d) => (d.f[0]![13] = 'x'))).to.throw(/a number/);
    expect(bad((d) => (d.f[0]![8] = d.s.push('sideways') - 1))).to.throw(/unknown HDU kind sideways/);
    expect(bad((d) => (d.f[0]![10] = ['someday', 'x', 0, 1]))).to.throw(/unknown observation date kind/);
  });

  it('records a seal only for a file quiet since QUIET_MS before the run, unchanged from the read to the change, and changed only in ctime by it', () => {
    const start = 1_000_000;
    const old = start - QUIET_MS;
    const opened = stamp(2880, old - 5, old);
    const ok = { before: opened, after: stamp(2880, old - 5, start + 7) };
    expect(sealOf(science(), 'r', opened, ok, start)).to.deep.equal({ classification: science(), rules: 'r', stamp: ok.after });
    expect(sealOf(science(), 'r', stamp(2880, old + 1, old + 1), { before: stamp(2880, old + 1, old + 1), after: stamp(2880, old + 1, start + 7) }, start), 'written within QUIET_MS of the run').to.equal(undefined);
    expect(sealOf(science(), 'r', stamp(2880, old - 5, old + 1), { before: stamp(2880, old - 5, old + 1), after: stamp(2880, old - 5, start + 7) }, start), 'status changed within QUIET_MS').to.equal(undefined);
    expect(sealOf(science(), 'r', opened, { ...ok, before: stamp(2880, old - 5, start + 3) }, start), 'status changed after the read').to.equal(undefined);
    expect(sealOf(science(), 'r', opened, { ...ok, before: stamp(5760, old - 5, old) }, start), 'grew after the read').to.equal(undefined);
    expect(sealOf(science(), 'r', opened, { ...ok, after: stamp(2880, start + 7, start + 7) }, start), 'written during the change').to.equal(undefined);
  });

  it('a seal holds only for the same device, inode, size, mtime, ctime and rules', () => {
    const sealed: SealedFile = { dir: '/d', name: 'a.fits', dev: 5, ino: 6, seal: { classification: science(), rules: 'r', stamp: stamp(2880, 10, 20) } };
    const st = (over: Partial<FileStat> = {}): FileStat => ({ dev: 5, ino: 6, mode: 0o100640, nlink: 1, uid: 1, gid: 2, size: 2880, mtimeMs: 10, ctimeMs: 20, ...over });
    expect(sealHolds(sealed, st(), 'r')).to.equal(true);
    for (const over of [{ dev: 4 }, { ino: 7 }, { size: 5760 }, { mtimeMs: 10.000001 }, { ctimeMs: 20.5 }]) expect(sealHolds(sealed, st(over), 'r'), JSON.stringify(over)).to.equal(false);
    expect(sealHolds(sealed, st(), 'other rules')).to.equal(false);
  });

  it("a directory's seals: the newest per name, only that directory's, an unreadable document passed over", () => {
    const st = (over: Partial<FileStat> = {}): FileStat => ({ dev: 5, ino: 6, mode: 0o100640, nlink: 1, uid: 1, gid: 2, size: 2880, mtimeMs: 10, ctimeMs: 20, ...over });
    const sealed = (name: string, campaign: string, ctimeMs: number, dir = '/d'): SealedFile => ({ dir, name, dev: 5, ino: 6, seal: { classification: science({ campaign }), rules: 'r', stamp: stamp(2880, 10, ctimeMs) } });
    const newer = encodeSeals([sealed('a.fits', 'new', 30)]);
    const older = encodeSeals([sealed('a.fits', 'old', 20), sealed('b.fits', 'flare', 20), sealed('c.fits', 'flare', 20, '/elsewhere')]);
    const unreadable: string[] = [];
    const gone = encodeSeals([sealed('a.fits', 'oldest', 10)]);
    const mixed = encodeSeals([sealed('a.fits', 'oldest', 10), sealed('e.fits', 'flare', 20, '/elsewhere')]);
    const seals = new DirectorySeals('/d', [{ id: 9, seals: newer }, { id: 8, seals: '{"v":9}' }, { id: 7, seals: older }, { id: 6, seals: gone }, { id: 5, seals: mixed }], (err) => unreadable.push(err.message));
    expect(seals.prunable.map((p) => p.id), 'documents none of whose entries of this directory can count').to.deep.equal([6, 5]);
    expect(seals.prunable[0]!.seals, 'nothing else in it').to.equal(null);
    expect(decodeSeals(seals.prunable[1]!.seals!), "the other directory's entry is kept").to.deep.equal([sealed('e.fits', 'flare', 20, '/elsewhere')]);
    expect(unreadable).to.deep.equal(['journal seals: not a version 1 seal document']);
    expect(seals.holding('a.fits', st({ ctimeMs: 30 }), 'r')?.campaign).to.equal('new');
    expect(seals.holding('a.fits', st(), 'r'), 'an older seal of the name never counts').to.equal(undefined);
    expect(seals.holding('b.fits', st(), 'r')?.campaign).to.equal('flare');
    expect(seals.holding('b.fits', st(), 'other rules')).to.equal(undefined);
    expect(seals.holding('b.fits', st({ size: 5760 }), 'r')).to.equal(undefined);
    expect(seals.holding('c.fits', st(), 'r'), "another directory's entry").to.equal(undefined);
    const corrupt = JSON.parse(encodeSeals([sealed('d.fits', 'flare', 20)])) as { f: unknown[][] };
    corrupt.f[0]![8] = 99; // an HDU kind string that is not there
    expect(new DirectorySeals('/d', [{ id: 1, seals: JSON.stringify(corrupt) }]).holding('d.fits', st(), 'r'), 'a corrupt entry: read the header').to.equal(undefined);
  });

  it('any seal round-trips; any damaged document is passed over or read without throwing, and a changed device, inode, size, mtime or ctime never holds (property)', () => {
    const arbSealed = fc.record({
      dir: fc.constantFrom('/d', '/data/obs', '/'), name: fc.string({ minLength: 1, maxLength: 12 }), dev: fc.nat(), ino: fc.nat(),
      seal: fc.record({
        classification: fc.record({
          kind: fc.constant('science' as const), campaign: fc.string({ minLength: 1 }), reason: fc.string(),
          source: fc.record({ hdu: fc.nat(9), hduKind: fc.constantFrom('primary' as const, 'image' as const, 'compressed-image' as const, 'table' as const), keyword: fc.string({ minLength: 1 }) }),
        }),
        rules: fc.string({ minLength: 1, maxLength: 16 }),
        stamp: fc.record({ size: fc.nat(), mtimeMs: fc.double({ noNaN: true, noDefaultInfinity: true }), ctimeMs: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      }),
    });
    // JSON has no -0: a stamp of -0 comes back as 0.
    const plusZero = (f: SealedFile): SealedFile => ({ ...f, seal: { ...f.seal, stamp: { ...f.seal.stamp, mtimeMs: f.seal.stamp.mtimeMs + 0, ctimeMs: f.seal.stamp.ctimeMs + 0 } } });
    fc.assert(fc.property(fc.array(arbSealed, { maxLength: 8 }), (files) => {
      expect(decodeSeals(encodeSeals(files))).to.deep.equal(files.map(plusZero));
    }));
    // One entry for /d/a that holds for `st`, with one field replaced by any JSON value.
    const st: FileStat = { dev: 1, ino: 2, mode: 0o100640, nlink: 1, uid: 1, gid: 2, size: 2880, mtimeMs: 10, ctimeMs: 20 };
    const entry = (f: SealedFile) => JSON.parse(encodeSeals([{ ...f, dir: '/d', name: 'a', dev: 1, ino: 2, seal: { ...f.seal, rules: 'r', stamp: { size: 2880, mtimeMs: 10, ctimeMs: 20 } } }])) as { f: unknown[][] };
    const damaged = fc.tuple(arbSealed, fc.nat(13), fc.oneof(fc.jsonValue(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))).map(([f, field, value]) => {
      const doc = entry(f);
      const before = doc.f[0]![field];
      doc.f[0]![field] = value;
      return { json: JSON.stringify(doc), field, changed: JSON.stringify(before) !== JSON.stringify(value) };
    });
    fc.assert(fc.property(damaged, fc.array(fc.oneof(fc.string(), fc.json()), { maxLength: 3 }), ({ json, field, changed }, noise) => {
      const seals = new DirectorySeals('/d', [json, ...noise].map((seals, id) => ({ id, seals })));
      const held = seals.holding('a', st, 'r');
      // device, inode, size, mtime or ctime changed: the seal never holds
      if (changed && [2, 3, 11, 12, 13].includes(field)) expect(held).to.equal(undefined);
      if (held) expect(held.kind).to.equal('science');
    }));
    // Found by the property above in CI (seed -1577650818): an object as the directory index, with no usable toString.
    const objectIndex = '{"v":1,"s":["/d","r"," ","","primary"],"f":[[{"toString":null},"a",1,2,1,2,3,0,4,2,null,2880,10,20]]}';
    expect(new DirectorySeals('/d', [{ id: 1, seals: objectIndex }]).holding('a', st, 'r')).to.equal(undefined);
  });

  it("a directory's seals give exactly the answers of the rules read from the documents themselves, damaged entries and documents included (property)", () => {
    // The reference: the newest entry of the name in the directory (documents newest first, entries
    // in order) alone counts; it holds when it decodes and sealHolds says so. Prunable: the documents
    // none of whose entries of the directory is the newest of its name.
    type Doc = { id: number; seals: string };
    const parsed = (seals: string): { s: unknown[]; f: unknown[] } | undefined => {
      try {
        const d = JSON.parse(seals) as { v?: unknown; s?: unknown; f?: unknown } | null;
        return d && d.v === 1 && Array.isArray(d.s) && Array.isArray(d.f) ? (d as { s: unknown[]; f: unknown[] }) : undefined;
      } catch {
        return undefined;
      }
    };
    const mine = (doc: { s: unknown[] }, e: unknown): e is unknown[] => Array.isArray(e) && typeof e[1] === 'string' && doc.s[e[0] as number] === '/d';
    const reference = (docs: ReturnType<typeof parsed>[], name: string, st: FileStat, rules: string): ScienceClassification | undefined => {
      for (const doc of docs) {
        const e = doc?.f.find((x) => mine(doc, x) && x[1] === name);
        if (!e) continue;
        let sealed: SealedFile;
        try {
          [sealed] = decodeSeals(JSON.stringify({ v: 1, s: doc!.s, f: [e] })) as [SealedFile];
        } catch {
          return undefined;
        }
        return sealHolds(sealed, st, rules) ? sealed.seal.classification : undefined;
      }
      return undefined;
    };
    const referencePrunable = (docs: Doc[]): number[] => {
      const seen = new Set<string>();
      return docs.filter(({ seals }) => {
        const doc = parsed(seals);
        if (!doc) return false;
        let live = false;
        for (const e of doc.f) if (mine(doc, e) && !seen.has(e[1] as string)) live = !!seen.add(e[1] as string);
        return !live;
      }).map((d) => d.id);
    };
    // Few names, stamps, rules and forms, so that names recur across documents and stats match.
    const arbSealed = fc.record({
      dir: fc.constantFrom('/d', '/d', '/e'), name: fc.constantFrom('a', 'b', 'c', 'd'), dev: fc.constantFrom(1, 2), ino: fc.constantFrom(7, 8),
      seal: fc.record({
        classification: fc.record({
          kind: fc.constant('science' as const), campaign: fc.constantFrom('flare', 'sky'), reason: fc.constantFrom('CAMPAIGN = flare', 'CAMPAIGN = sky'),
          source: fc.record({ hdu: fc.nat(1), hduKind: fc.constantFrom('primary' as const, 'compressed-image' as const), keyword: fc.constantFrom('CAMPAIGN', 'PROPOSID') }),
          observed: fc.option(fc.oneof(
            // a date's text: any, or the start of its ISO form (as a FITS date is)
            fc.record({ hdu: fc.nat(1), ms: fc.integer({ min: -1e13, max: 1e13 }), text: fc.string({ maxLength: 6 }), iso: fc.option(fc.constantFrom(10, 19, 21, 23, 24)) })
              .map(({ hdu, ms, text, iso }) => ({ kind: 'date' as const, text: iso === null ? text : new Date(ms).toISOString().slice(0, iso), hdu, date: new Date(ms) })),
            fc.record({ kind: fc.constant('invalid' as const), text: fc.string({ maxLength: 6 }), hdu: fc.nat(1), reason: fc.constantFrom('is not a FITS date', 'is empty') }),
          ), { nil: undefined, freq: 3 }),
        }, { requiredKeys: ['kind', 'campaign', 'reason', 'source'] }),
        rules: fc.constantFrom('r', 's'),
        stamp: fc.record({ size: fc.constantFrom(2880, 5760), mtimeMs: fc.constantFrom(10, 10.5), ctimeMs: fc.constantFrom(20, 20.25) }),
      }),
    });
    // Seals of one form (the same classification and rules, the observation date's own fields aside),
    // as a directory's files mostly are: the entries after the first are kept as the first's form.
    const arbOneForm = fc.tuple(arbSealed, fc.array(fc.tuple(arbSealed, fc.boolean()), { minLength: 1, maxLength: 4 })).map(([first, rest]) => [first, ...rest.map(([other, sameDate]) => {
      const o = first.seal.classification.observed;
      const observed = sameDate || !o || o.kind !== 'date' ? o : { ...o, date: other.seal.classification.observed?.kind === 'date' ? other.seal.classification.observed.date : o.date };
      return { ...other, dir: first.dir, seal: { ...other.seal, rules: first.seal.rules, classification: { ...first.seal.classification, ...(observed ? { observed } : {}) } } };
    })]);
    // An observation time as no Date gives it (a fraction of a millisecond, out of a Date's range, not a number).
    const arbOddTime = fc.oneof(fc.double({ min: -1e13, max: 1e13, noNaN: true }), fc.constantFrom(9e15, -9e15, 1e300), fc.jsonValue());
    // A document: up to 5 seals, some entries damaged (one field replaced by any JSON value, or the
    // observation time by an odd one), or not a document at all.
    const arbDoc = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.oneof(fc.array(arbSealed, { minLength: 1, maxLength: 5 }), arbOneForm), fc.array(fc.tuple(fc.nat(4), fc.nat(15), fc.jsonValue(), arbOddTime), { maxLength: 2 })).map(([files, damage]) => {
        const doc = JSON.parse(encodeSeals(files)) as { f: unknown[] };
        for (const [entry, field, value, time] of damage) {
          const e = doc.f[entry % doc.f.length];
          if (field === 14 || !Array.isArray(e)) doc.f[entry % doc.f.length] = value; // the whole entry
          else if (field === 15) Array.isArray(e[10]) && (e[10][3] = time);
          else e[field] = value;
        }
        return JSON.stringify(doc);
      }) },
      { weight: 1, arbitrary: fc.oneof(fc.string(), fc.json(), fc.constant('{"v":2,"s":[],"f":[]}')) },
    );
    // Every status the seals above can have.
    const stats: FileStat[] = [];
    for (const dev of [1, 2]) for (const ino of [7, 8]) for (const size of [2880, 5760]) for (const mtimeMs of [10, 10.5]) for (const ctimeMs of [20, 20.25])
      stats.push({ dev, ino, size, mtimeMs, ctimeMs, mode: 0o100640, nlink: 1, uid: 1, gid: 2 });
    let held = 0;
    fc.assert(fc.property(fc.array(arbDoc, { maxLength: 6 }), (texts) => {
      const docs = texts.map((seals, i) => ({ id: texts.length - i, seals }));
      const passedOver: string[] = [];
      const seals = new DirectorySeals('/d', docs, (err) => passedOver.push(err.message));
      expect(seals.prunable.map((p) => p.id)).to.deep.equal(referencePrunable(docs));
      expect(passedOver).to.have.length(docs.filter((d) => !parsed(d.seals)).length);
      const parsedDocs = docs.map((d) => parsed(d.seals));
      for (const name of ['a', 'b', 'c', 'd', 'x'])
        for (const st of stats)
          for (const rules of ['r', 's']) {
            const got = seals.holding(name, st, rules);
            expect(got, `${name} ${JSON.stringify(st)} ${rules}`).to.deep.equal(reference(parsedDocs, name, st, rules));
            if (got) held++;
          }
    }), { seed: 42, numRuns: 200 });
    expect(held, 'seals held in some runs').to.be.greaterThan(100);
  });

  it('a held seal gives back every field as journaled, for seals that differ from one another in one field only', () => {
    const date = { kind: 'date' as const, text: '2026-01-02', hdu: 0, date: new Date('2026-01-02T00:00:00Z') };
    const invalid = { kind: 'invalid' as const, text: '02/01/26', hdu: 0, reason: 'is not a FITS date' };
    const variants: [ScienceClassification, string][] = [
      [science(), 'r'], [science(), 's'], [science({ campaign: 'sky' }), 'r'], [science({ reason: 'other' }), 'r'],
      [science({ source: { hdu: 1, hduKind: 'primary', keyword: 'CAMPAIGN' } }), 'r'], [science({ source: { hdu: 0, hduKind: 'image', keyword: 'CAMPAIGN' } }), 'r'],
      [science({ source: { hdu: 0, hduKind: 'primary', keyword: 'PROPOSID' } }), 'r'],
      [science({ observed: date }), 'r'], [science({ observed: { ...date, hdu: 1 } }), 'r'], [science({ observed: { ...date, text: '2026-01-02T00:00' } }), 'r'],
      [science({ observed: { ...date, date: new Date('2027-01-02T00:00:00Z') } }), 'r'], [science({ observed: { ...date, text: '2026-01-02T00:00:00.0001' } }), 'r'],
      [science({ observed: invalid }), 'r'], [science({ observed: { ...invalid, hdu: 1 } }), 'r'], [science({ observed: { ...invalid, reason: 'is empty' } }), 'r'],
    ];
    // Each variant right after a seal of the first form (the first with a date, for a dated one): kept
    // as that form only when it is one (DirectorySeals.keepLike).
    const files: SealedFile[] = variants.flatMap(([classification, rules], i) => [variants[classification.observed?.kind === 'date' ? 7 : 0]!, [classification, rules] as const].map(([c, r], k) =>
      ({ dir: '/d', name: `f${i}${k ? '' : '-first'}`, dev: 5, ino: 2 * i + k, seal: { classification: c, rules: r, stamp: stamp(2880, 10, 20) } })));
    // A seal of the first form whose ctime is not a number (a text of one, which a Float64Array would take) never holds.
    const doc = JSON.parse(encodeSeals([...files, { ...files[0]!, name: 'text-ctime', ino: 99 }])) as { f: unknown[][] };
    doc.f.at(-1)![13] = '20';
    const seals = new DirectorySeals('/d', [{ id: 1, seals: JSON.stringify(doc) }]);
    const statOf = (ino: number): FileStat => ({ dev: 5, ino, mode: 0o100640, nlink: 1, uid: 1, gid: 2, size: 2880, mtimeMs: 10, ctimeMs: 20 });
    files.forEach(({ name, ino, seal }) => {
      expect(seals.holding(name, statOf(ino), seal.rules), name).to.deep.equal(seal.classification);
      expect(seals.holding(name, statOf(ino), seal.rules === 'r' ? 's' : 'r'), `${name}, other rules`).to.equal(undefined);
    });
    expect(seals.holding('text-ctime', statOf(99), 'r')).to.equal(undefined);
  });

  it('the seals of the directories a run looks at: the current one always kept, the least recently used others let go over the bounds, and found again when loaded again', () => {
    const st: FileStat = { dev: 5, ino: 6, mode: 0o100640, nlink: 1, uid: 1, gid: 2, size: 2880, mtimeMs: 10, ctimeMs: 20 };
    const sizes: Record<string, number> = { a: 2, b: 2, c: 4, huge: 10 };
    const docsOf = (dir: string) => [{ id: 1, seals: encodeSeals(Array.from({ length: sizes[dir]! }, (_, i) => ({ dir, name: `f${i}`, dev: 5, ino: 6, seal: { classification: science({ campaign: dir }), rules: 'r', stamp: stamp(2880, 10, 20) } }))) }];
    const loads: string[] = [];
    const cache = new SealCache((dir) => {
      loads.push(dir);
      return new DirectorySeals(dir, docsOf(dir));
    }, { directories: 3, entries: 5 });
    const holds = (dir: string) => cache.of(dir).holding('f1', st, 'r')?.campaign;
    expect(holds('a')).to.equal('a');
    expect(holds('b')).to.equal('b');
    expect(holds('a'), 'kept').to.equal('a');
    expect(loads).to.deep.equal(['a', 'b']);
    expect(holds('c'), 'c (4 seals) comes: b then a go (a was used after b)').to.equal('c');
    expect(holds('c')).to.equal('c');
    expect(loads).to.deep.equal(['a', 'b', 'c']);
    expect(holds('a'), 'let go, loaded again: its seals as before').to.equal('a');
    expect(loads).to.deep.equal(['a', 'b', 'c', 'a']);
    expect(holds('huge'), 'more seals than the bound: kept while current, every other let go').to.equal('huge');
    expect(holds('huge')).to.equal('huge');
    expect(cache.of('huge').holding('f9', st, 'r')?.campaign).to.equal('huge');
    expect(loads).to.deep.equal(['a', 'b', 'c', 'a', 'huge']);
    expect(holds('a')).to.equal('a');
    expect(holds('c')).to.equal('c');
    expect(loads, 'huge went when a came').to.deep.equal(['a', 'b', 'c', 'a', 'huge', 'a', 'c']);
    expect(holds('a'), 'a (2) and c (4) are over 5: a went when c came').to.equal('a');
    expect(loads).to.deep.equal(['a', 'b', 'c', 'a', 'huge', 'a', 'c', 'a']);

    const few = new SealCache((dir) => {
      loads.push(dir);
      return new DirectorySeals(dir, []);
    }, { directories: 2, entries: 100 });
    loads.length = 0;
    for (const dir of ['x', 'y', 'x', 'z', 'x', 'y']) few.of(dir);
    expect(loads, 'at most 2 directories: y went when z came, x was used after it').to.deep.equal(['x', 'y', 'z', 'y']);
    cache.clear();
    loads.length = 0;
    holds('a');
    expect(loads, 'a new run starts empty').to.deep.equal(['a']);
  });

  it('the rules fingerprint follows every rule', () => {
    const base = classificationSchema.parse({});
    expect(rulesFingerprint(classificationSchema.parse({}))).to.equal(rulesFingerprint(base));
    expect(rulesFingerprint({ ...base, campaignKeywords: ['PROPOSID', 'CAMPAIGN'] })).to.not.equal(rulesFingerprint(base));
    expect(rulesFingerprint({ ...base, campaignCase: 'lower' })).to.not.equal(rulesFingerprint(base));
    expect(rulesFingerprint({ ...base, public: { ...base.public, filenames: ['*.png'] } })).to.not.equal(rulesFingerprint(base));
  });
});

const PI = 4242;
const GID = 5252;
const NOW = new Date('2026-11-24T00:00:00Z');

describe('mapper-agent/ingest: enforcement decides from header seals only while they hold (as root, real files)', function () {
  let base: string;
  let root: string;
  let journal: Journal;
  let campaign: CampaignFacts;
  const classifier = new Classifier(classificationSchema.parse({}));
  const modes = modesSchema.parse({});
  /** The run's clock a minute ahead: the files just written count as quiet (only the quiet rule's own test uses the real clock). */
  const later = () => Date.now() + 60_000;
  const ingest = (over: Partial<ConstructorParameters<typeof IngestEngine>[0]> = {}) =>
    new IngestEngine({ roots: [root], classifier, modes, resolve: (c) => (c === campaign.name ? campaign : undefined), journal, now: NOW, hostClockMs: later, ...over }).ingest([root]);
  const enforce = (over: Partial<Parameters<typeof liftEmbargoes>[0]> = {}) =>
    liftEmbargoes({ roots: [root], campaigns: [campaign], classifier, modes, journal, now: NOW, hostClockMs: later, ...over });
  const put = (rel: string, cards: [string, string][]) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, fitsFile(cards));
    chmodSync(p, 0o664);
    return p;
  };
  const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
  /** Rewrite the file's header in place (same size) and put its mtime back to the nanosecond (touch -r: utimensat): only ctime tells. */
  const rewriteKeepingMtime = (p: string, cards: [string, string][]) => {
    const st = statSync(p, { bigint: true });
    execFileSync('touch', ['-m', '-r', p, `${p}.time`]);
    const fd = openSync(p, 'r+');
    writeSync(fd, fitsFile(cards), 0, Number(st.size), 0);
    closeSync(fd);
    execFileSync('touch', ['-m', '-r', `${p}.time`, p]);
    rmSync(`${p}.time`);
    const now = statSync(p, { bigint: true });
    expect(now.mtimeNs).to.equal(st.mtimeNs);
    expect(now.ctimeNs).to.not.equal(st.ctimeNs);
  };

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-seal-'));
    root = join(base, 'data');
    mkdirSync(root, { mode: 0o755 });
    journal = new Journal(join(base, 'journal.sqlite'), 'test');
    campaign = { name: 'flare', piUid: PI, gid: GID, embargoEnd: new Date('2027-06-01T00:00:00Z') };
  });
  afterEach(() => {
    journal.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('lifting decides from the seals and says so; a re-embargo reads the headers and seals them again; a dry run and sealedHeaders: false read every header', async () => {
    const files = [put('obs/a.fits', [['CAMPAIGN', 'flare']]), put('obs/b.fits', [['CAMPAIGN', 'flare'], ['DATE-OBS', '2026-01-02']]), put('obs/deep/c.fits', [['CAMPAIGN', 'flare']])];
    expect(await ingest()).to.include({ changed: 3 });
    for (const f of files) expect(mode(f)).to.equal('640');
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    expect(await enforce({ dryRun: true })).to.include({ lifted: 3, sealed: 3 });
    expect(await enforce({ dryRun: true, sealedHeaders: false })).to.include({ lifted: 3, sealed: 0 });
    const reasons: string[] = [];
    const lift = await enforce({ onChange: (c) => reasons.push(c.reason) });
    expect(lift).to.include({ lifted: 3, sealed: 3 });
    for (const f of files) expect(mode(f)).to.equal('644');
    expect(reasons).to.have.length(3);
    for (const r of reasons) expect(r).to.match(/^embargo of flare ended; CAMPAIGN .*header as journaled; the file is unchanged since/);
    // The admin sets the embargo again: the lift moved every ctime, so the headers are read (and sealed) ...
    campaign = { ...campaign, embargoEnd: new Date('2027-06-01T00:00:00Z') };
    expect(await enforce()).to.include({ reclosed: 3, sealed: 0 });
    for (const f of files) expect(mode(f)).to.equal('640');
    // ... and the next lift decides from those seals.
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    expect(await enforce()).to.include({ lifted: 3, sealed: 3 });
  });

  it('seals superseded by newer ones are pruned by the next enforcement run that loads them, not by a dry run', async () => {
    const files = [0, 1, 2].map((i) => put(`obs/f${i}.fits`, [['CAMPAIGN', 'flare']]));
    await ingest({ batchSize: 2 });
    const docs = () => [...journal.eachSealDoc(join(root, 'obs'))].map((d) => d.id);
    const sealedAtIngest = docs();
    expect(sealedAtIngest).to.have.length(2);
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    expect(await enforce({ sealedHeaders: false, batchSize: 8 })).to.include({ lifted: 3, sealed: 0 }); // headers read: sealed again, one newer document
    const newer = docs().filter((id) => !sealedAtIngest.includes(id));
    expect(newer).to.have.length(1);
    chmodSync(files[2]!, 0o640); // by hand: not a file a re-embargo looks at, so its seal is neither used nor spent
    campaign = { ...campaign, embargoEnd: new Date('2027-06-01T00:00:00Z') };
    expect(await enforce({ dryRun: true })).to.include({ sealed: 2 });
    expect(docs()).to.have.length(3);
    expect(await enforce()).to.include({ reclosed: 2, sealed: 2 });
    expect(docs(), 'the ingest documents, superseded, are gone; the newer one keeps a seal not spent').to.deep.equal(newer);
  });

  it('the seals a change was decided from are pruned once it is applied, not by a dry run; a document shared with another directory keeps its entries', async () => {
    for (let i = 0; i < 3; i++) put(`obs/f${i}.fits`, [['CAMPAIGN', 'flare']]);
    const g = put('other/g.fits', [['CAMPAIGN', 'flare']]); // a batch spans two directories
    await ingest({ batchSize: 2 });
    chmodSync(g, 0o644); // by hand: not a file a lift looks at, its seal stays unused
    const docs = (dir: string) => [...journal.eachSealDoc(join(root, dir))];
    /** the seals journaled for files in obs/ */
    const inObs = () => docs('obs').flatMap((d) => decodeSeals(d.seals)).filter((f) => f.dir === join(root, 'obs')).map((f) => f.name).sort();
    expect(docs('obs')).to.have.length(2);
    const shared = docs('other');
    expect(shared).to.have.length(1);
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    expect(await enforce({ dryRun: true })).to.include({ lifted: 3, sealed: 3 });
    expect(inObs(), 'a dry run spends nothing').to.deep.equal(['f0.fits', 'f1.fits', 'f2.fits']);
    expect(await enforce()).to.include({ lifted: 3, sealed: 3 });
    expect(inObs(), "obs/'s seals are spent: the lift moved every ctime").to.deep.equal([]);
    expect(docs('obs').map((d) => d.id), 'of its documents only the shared one is left').to.deep.equal(shared.map((d) => d.id));
    const kept = docs('other');
    expect(kept.map((d) => d.id)).to.deep.equal(shared.map((d) => d.id));
    expect(decodeSeals(kept[0]!.seals).map((f) => `${f.dir}/${f.name}`), "only other/'s entry is left in the shared document").to.deep.equal([g]);
    // A re-embargo reads the headers again (the lift moved their ctimes) and seals them anew.
    campaign = { ...campaign, embargoEnd: new Date('2027-06-01T00:00:00Z') };
    expect(await enforce()).to.include({ reclosed: 4, sealed: 0 }); // other/g.fits too, opened by hand
    expect(inObs()).to.deep.equal(['f0.fits', 'f1.fits', 'f2.fits']);
  });

  it('a seal is spent when its change is applied (spend) or the file no longer matches it, not under other rules; a document goes when all its seals are spent', () => {
    const st = (over: Partial<FileStat> = {}): FileStat => ({ dev: 5, ino: 6, mode: 0o100640, nlink: 1, uid: 1, gid: 2, size: 2880, mtimeMs: 10, ctimeMs: 20, ...over });
    const sealed = (name: string, dir = '/d'): SealedFile => ({ dir, name, dev: 5, ino: 6, seal: { classification: science(), rules: 'r', stamp: stamp(2880, 10, 20) } });
    const docs = [
      { id: 3, seals: encodeSeals([sealed('a'), sealed('b')]) },
      { id: 2, seals: encodeSeals([sealed('c'), sealed('x', '/elsewhere')]) },
      { id: 1, seals: encodeSeals([sealed('d')]) },
    ];
    const seals = new DirectorySeals('/d', docs);
    expect(seals.spentDocuments(), 'nothing looked at').to.deep.equal([]);
    expect(seals.holding('a', st(), 'r')).to.not.equal(undefined);
    seals.spend('a');
    expect(seals.holding('b', st({ ctimeMs: 21 }), 'r'), 'changed since').to.equal(undefined);
    expect(seals.holding('c', st(), 'other rules'), 'other rules: could hold again under the old ones').to.equal(undefined);
    expect(seals.holding('d', st({ ino: 7 }), 'r'), 'another file').to.equal(undefined);
    expect(seals.spentDocuments()).to.deep.equal([{ id: 3, seals: null }, { id: 1, seals: null }]);
    seals.spend('c');
    const [, second] = seals.spentDocuments();
    expect(second?.id).to.equal(2);
    expect(decodeSeals(second!.seals!), "another directory's entry is kept").to.deep.equal([sealed('x', '/elsewhere')]);
    expect(seals.holding('a', st(), 'r'), 'spending forgets nothing in this run').to.not.equal(undefined);
  });

  it('a header rewritten in place with its mtime put back is read again: ctime moved', async () => {
    const p = put('obs/a.fits', [['CAMPAIGN', 'flare']]);
    await ingest();
    rewriteKeepingMtime(p, [['CAMPAIGN', 'other']]);
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    const lift = await enforce();
    expect(lift).to.include({ lifted: 0, sealed: 0, notLifted: 1 });
    expect(mode(p)).to.equal('640');
    expect(lift.problems.join('\n')).to.match(/a\.fits: not lifted: .*campaign other/);
  });

  it('a file replaced (another inode), renamed, or classified under other rules is read again', async () => {
    const replaced = put('obs/replaced.fits', [['CAMPAIGN', 'flare']]);
    const renamed = put('obs/renamed.fits', [['CAMPAIGN', 'flare']]);
    const kept = put('obs/kept.fits', [['CAMPAIGN', 'flare']]);
    await ingest();
    const st = statSync(replaced);
    writeFileSync(`${replaced}.new`, fitsFile([['CAMPAIGN', 'other']]));
    chownSync(`${replaced}.new`, st.uid, st.gid);
    chmodSync(`${replaced}.new`, 0o640);
    renameSync(`${replaced}.new`, replaced);
    renameSync(renamed, join(root, 'obs/moved.fits'));
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    const lift = await enforce();
    expect(lift).to.include({ lifted: 2, sealed: 1, notLifted: 1 });
    expect(mode(kept)).to.equal('644');
    expect(mode(join(root, 'obs/moved.fits')), 'the moved file, read again and lifted').to.equal('644');
    expect(mode(replaced), 'the replacement says another campaign').to.equal('640');
    // Other rules: no seal made under the old ones counts (the files are closed again first).
    campaign = { ...campaign, embargoEnd: new Date('2027-06-01T00:00:00Z') };
    await enforce();
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    const other = new Classifier(classificationSchema.parse({ campaignKeywords: ['CAMPAIGN', 'PROPOSID'] }));
    expect(await enforce({ classifier: other })).to.include({ lifted: 2, sealed: 0 });
  });

  it('a file written between its read and its change, or not yet quiet when the run began, gets no seal', async () => {
    const raced = put('obs/raced.fits', [['CAMPAIGN', 'flare']]);
    const calm = put('obs/calm.fits', [['CAMPAIGN', 'flare']]);
    // onDecision runs after the read and before the batch is applied: a pipeline rewrites the header then.
    await ingest({ onDecision: (path) => path === raced && rewriteKeepingMtime(raced, [['CAMPAIGN', 'other']]) });
    expect(mode(raced), 'the decision made on the header read is applied').to.equal('640');
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    const lift = await enforce();
    expect(lift, 'only calm.fits was sealed; raced.fits is read again and says another campaign').to.include({ lifted: 1, sealed: 1, notLifted: 1 });
    expect(mode(calm)).to.equal('644');
    expect(mode(raced)).to.equal('640');

    // Files written just before the run began are not quiet: nothing sealed, every header read. (The run's clock a
    // minute early: with the real one, a stall of QUIET_MS on a loaded machine would make them quiet.)
    const fresh = put('new/fresh.fits', [['CAMPAIGN', 'flare']]);
    campaign = { ...campaign, embargoEnd: new Date('2027-06-01T00:00:00Z') };
    await ingest({ hostClockMs: () => Date.now() - 60_000 });
    expect(mode(fresh)).to.equal('640');
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    const again = await enforce({ roots: [root] });
    expect(again.sealed, 'fresh.fits read again').to.equal(0);
    expect(mode(fresh)).to.equal('644');
  });

  it("a directory's seals let go over the bounds are loaded again when the run comes back to it, and still decide", async () => {
    const files = [put('obs/a.fits', [['CAMPAIGN', 'flare']]), put('other/b.fits', [['CAMPAIGN', 'flare']]), put('obs/c.fits', [['CAMPAIGN', 'flare']])];
    await ingest();
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    const loads: string[] = [];
    const each = journal.eachSealDoc.bind(journal);
    journal.eachSealDoc = (dir) => {
      loads.push(dir.slice(root.length + 1));
      return each(dir);
    };
    const enforcing = { enforce: { ended: new Map([[GID, 'flare']]), running: new Map<number, string>() } };
    // The files one by one, obs/ then other/ then obs/ again; at most one directory's seals kept.
    const lift = await new IngestEngine({ roots: [root], classifier, modes, resolve: () => campaign, journal, now: NOW, hostClockMs: later, dryRun: true, ...enforcing, sealBounds: { directories: 1, entries: 0 } }).ingest(files);
    expect(lift).to.include({ lifted: 3, sealed: 3 });
    expect(loads).to.deep.equal(['obs', 'other', 'obs']);
    loads.length = 0;
    expect(await new IngestEngine({ roots: [root], classifier, modes, resolve: () => campaign, journal, now: NOW, hostClockMs: later, ...enforcing }).ingest(files)).to.include({ lifted: 3, sealed: 3 });
    expect(loads, 'within the default bounds obs/ is kept').to.deep.equal(['obs', 'other']);
    for (const f of files) expect(mode(f)).to.equal('644');
  });

  it('the worker pool decides from the same seals; a journal from before seals reads as before, one that kept them in batches.seals has them moved once', async () => {
    for (let d = 0; d < 4; d++) for (let f = 0; f < 3; f++) put(`obs/d${d}/f${f}.fits`, [['CAMPAIGN', 'flare']]);
    await ingest();
    campaign = { ...campaign, embargoEnd: new Date('2026-11-01T00:00:00Z') };
    expect(await enforce({ workers: 2, poolMinDirectories: 0 })).to.include({ lifted: 12, sealed: 12 });

    const old = join(base, 'old.sqlite');
    const db = new Database(old);
    db.exec('CREATE TABLE batches (id INTEGER PRIMARY KEY, run INTEGER NOT NULL, planned_at TEXT NOT NULL, done_at TEXT, files INTEGER NOT NULL, changes TEXT NOT NULL, outcome TEXT)');
    db.close();
    const upgraded = new Journal(old, 'test: upgraded');
    try {
      expect([...upgraded.eachSealDoc('/nowhere')]).to.deep.equal([]);
    } finally {
      upgraded.close();
    }

    // The previous version's layout: the seal document in a column of the batch's row.
    const column = join(base, 'column.sqlite');
    const doc = encodeSeals([{ dir: '/data/obs', name: 'a.fits', dev: 1, ino: 2, seal: { classification: science(), rules: 'r', stamp: stamp(2880, 10, 20) } }]);
    const before = new Database(column);
    before.exec(`CREATE TABLE batches (id INTEGER PRIMARY KEY, run INTEGER NOT NULL, planned_at TEXT NOT NULL, done_at TEXT, files INTEGER NOT NULL, changes TEXT NOT NULL, outcome TEXT, seals TEXT);
      CREATE TABLE batch_dirs (dir TEXT NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (dir, batch)) WITHOUT ROWID;`);
    before.prepare("INSERT INTO batches VALUES (7, 1, 'then', 'then', 1, '{}', NULL, ?)").run(doc);
    before.prepare("INSERT INTO batches VALUES (8, 1, 'then', 'then', 1, '{}', NULL, NULL)").run();
    before.exec("INSERT INTO batch_dirs VALUES ('/data/obs', 7), ('/data/obs', 8)");
    before.close();
    for (let open = 0; open < 2; open++) {
      const moved = new Journal(column, 'test: moved');
      try {
        expect([...moved.eachSealDoc('/data/obs')], `opened ${open + 1} time(s)`).to.deep.equal([{ id: 7, seals: doc }]);
      } finally {
        moved.close();
      }
    }
    const after = new Database(column);
    expect(after.prepare('SELECT count(*) AS n FROM batches WHERE seals IS NOT NULL').get(), 'the column is emptied').to.deep.equal({ n: 0 });
    expect(after.pragma('user_version', { simple: true }), 'and that is recorded').to.equal(1);
    // Recorded: a document left in the column (none is written there any more) is not looked for again.
    after.prepare("UPDATE batches SET seals = ? WHERE id = 8").run(doc);
    after.close();
    const again = new Journal(column, 'test: opened again');
    try {
      expect([...again.eachSealDoc('/data/obs')].map((d) => d.id)).to.deep.equal([7]);
    } finally {
      again.close();
    }
  });
});
