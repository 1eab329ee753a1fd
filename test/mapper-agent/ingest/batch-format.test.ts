/**
 * The journal's batch document: every change comes back exactly as planned (paths in several
 * directories, the root directory, names with quotes and non-ASCII, no campaign), shared strings
 * are written once, and a document this version cannot read is an error, never a guess.
 */
import { expect } from 'chai';
import { decodeBatch, encodeBatch } from '../../../mapper-agent/ingest/batch-format.js';
import type { PlannedChange } from '../../../mapper-agent/ingest/journal.js';

const change = (path: string, extra: Partial<PlannedChange> = {}): PlannedChange => ({
  path, dev: 2049, ino: 2 ** 40 + 7, kind: 'ingest', before: { uid: 0, gid: 0, mode: 0o664 }, target: { uid: 10001, gid: 20002, mode: 0o640 },
  reason: 'CAMPAIGN in HDU 0 (primary) = flare; embargoed until 2030-01-01', campaign: 'flare', ...extra,
});

describe('mapper-agent/ingest/batch-format', () => {
  it('round-trips every field of every change, in order', () => {
    const changes: PlannedChange[] = [
      change('/data/raw/a/obs1.fits'),
      change('/data/raw/a/"quoted" \\ name\u00e9.fits', { kind: 'quarantine', reason: 'unreadable FITS header: byte 0x00', campaign: undefined }),
      change('/data/raw/b/x.fits', { kind: 'embargo-lift', target: { uid: 1, gid: 2, mode: 0o644 } }),
      change('/top.fits', { kind: 'directory' }),
    ].map((c) => (c.campaign === undefined ? (({ campaign: _, ...rest }) => rest)(c) : c));
    const { json, dirs } = encodeBatch(changes);
    expect(dirs).to.deep.equal(['/data/raw/a', '/data/raw/b', '/']);
    const back = decodeBatch(json);
    expect(back.map((e) => e.change)).to.deep.equal(changes);
    expect(back.map((e) => [e.dir, e.name])).to.deep.equal([['/data/raw/a', 'obs1.fits'], ['/data/raw/a', '"quoted" \\ name\u00e9.fits'], ['/data/raw/b', 'x.fits'], ['/', 'top.fits']]);
  });

  it('writes a directory, campaign and reason shared by the batch once', () => {
    const changes = Array.from({ length: 100 }, (_, i) => change(`/data/raw/a/obs${i}.fits`));
    const { json } = encodeBatch(changes);
    expect(json.split('embargoed until').length - 1).to.equal(1);
    expect(json.split('/data/raw/a').length - 1).to.equal(1);
  });

  it('refuses a document of another version or shape', () => {
    const good = JSON.parse(encodeBatch([change('/d/f.fits')]).json) as { s: string[]; f: unknown[][] };
    const bad = [
      '{"v":2,"s":[],"f":[]}',
      '{"v":1,"s":[]}',
      JSON.stringify({ ...good, f: [good.f[0]!.slice(0, 12)] }),
      JSON.stringify({ ...good, f: [[99, ...good.f[0]!.slice(1)]] }),
      JSON.stringify({ ...good, s: good.s.map((x) => (x === 'ingest' ? 'chmod-everything' : x)) }),
      'not json',
    ];
    for (const doc of bad) expect(() => decodeBatch(doc), doc).to.throw();
  });
});
