import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier, type Classification } from '../../../core/embargo/classify.js';
import { classificationSchema, modesSchema } from '../../../core/embargo/rules.js';
import { decide, fileEmbargo, type CampaignFacts } from '../../../core/embargo/policy.js';
import { parseFitsDate, type ObservationDate } from '../../../core/fits/date.js';
import { readFitsFile } from '../../../core/fits/detect.js';
import { fitsFile, header, type Card } from '../../support/fits.js';

const DAY = 86_400_000;
const rolling: CampaignFacts = { name: 'sky', piUid: 1000, gid: 5000, proprietaryDays: 365 };
const obs = (text: string): ObservationDate => ({ kind: 'date', date: parseFitsDate(text)!, text, hdu: 0 });
const now = new Date('2026-06-01T00:00:00Z');

describe('core/embargo/policy: rolling release (per-file embargo end)', () => {
  it('DATE-OBS + period: open exactly once the date passed', () => {
    expect(fileEmbargo(rolling, { observed: obs('2025-05-31') }, now)).to.include({ embargoed: false });
    const e = fileEmbargo(rolling, { observed: obs('2025-06-02') }, now);
    expect(e.embargoed).to.equal(true);
    expect(e.until!.toISOString()).to.equal('2026-06-02T00:00:00.000Z');
    expect(e.why).to.include('DATE-OBS 2025-06-02 + 365 days').and.include('embargoed until 2026-06-02');
    // exactly at the end: public (the end is the first public instant, as for the campaign date)
    expect(fileEmbargo(rolling, { observed: obs('2025-06-01') }, now).embargoed).to.equal(false);
    expect(fileEmbargo(rolling, { observed: obs('2025-06-01T00:00:00.001') }, now).embargoed).to.equal(true);
  });

  it('an untrusted clock keeps every rolling file closed', () => {
    expect(fileEmbargo(rolling, { observed: obs('1990-01-01') }, undefined).embargoed).to.equal(true);
  });

  it('no DATE-OBS: the journaled ingest time + period; neither known: closed', () => {
    expect(fileEmbargo(rolling, { ingestedAt: () => new Date(now.getTime() - 400 * DAY) }, now).embargoed).to.equal(false);
    expect(fileEmbargo(rolling, { ingestedAt: () => new Date(now.getTime() - 300 * DAY) }, now).embargoed).to.equal(true);
    const none = fileEmbargo(rolling, { ingestedAt: () => undefined }, now);
    expect(none.embargoed).to.equal(true);
    expect(none.why).to.include('no DATE-OBS and no journaled ingest time');
    expect(fileEmbargo(rolling, {}, now).embargoed).to.equal(true);
  });

  it('an unreadable DATE-OBS keeps the file closed and never falls back to the ingest time', () => {
    const e = fileEmbargo(rolling, { observed: { kind: 'invalid', text: '31/05/90', hdu: 0, reason: 'is not a FITS date' }, ingestedAt: () => new Date(0) }, now);
    expect(e.embargoed).to.equal(true);
    expect(e.why).to.include('DATE-OBS "31/05/90"');
  });

  it('the campaign date of a rolling campaign is a floor: no file opens before it', () => {
    const floored = { ...rolling, embargoEnd: new Date('2026-09-01T00:00:00Z') };
    const e = fileEmbargo(floored, { observed: obs('2020-01-01') }, now);
    expect(e.embargoed).to.equal(true);
    expect(e.until!.toISOString()).to.equal('2026-09-01T00:00:00.000Z');
    expect(fileEmbargo({ ...rolling, embargoEnd: new Date('2026-01-01T00:00:00Z') }, { observed: obs('2020-01-01') }, now).embargoed).to.equal(false);
  });

  it('a campaign without a period keeps the campaign-date rule (DATE-OBS ignored)', () => {
    const dated: CampaignFacts = { name: 'old', piUid: 1, gid: 2, embargoEnd: new Date('2027-01-01T00:00:00Z') };
    expect(fileEmbargo(dated, { observed: obs('1990-01-01') }, now).embargoed).to.equal(true);
    expect(fileEmbargo({ ...dated, embargoEnd: new Date('2026-01-01T00:00:00Z') }, {}, now).embargoed).to.equal(false);
  });

  it('the worked example of docs/ingest.md ("Release models")', () => {
    const sky: CampaignFacts = { ...rolling, embargoEnd: new Date('2026-03-01T00:00:00Z') };
    const at = new Date('2026-06-01T00:00:00Z');
    const a = fileEmbargo(sky, { observed: obs('2025-01-10T22:14:03') }, at);
    expect([a.embargoed, a.until!.toISOString()]).to.deep.equal([false, '2026-03-01T00:00:00.000Z']);
    const b = fileEmbargo(sky, { observed: obs('2025-08-15') }, at);
    expect([b.embargoed, b.until!.toISOString()]).to.deep.equal([true, '2026-08-15T00:00:00.000Z']);
    const c = fileEmbargo(sky, { ingestedAt: () => new Date('2025-04-02T09:00:00Z') }, at);
    expect([c.embargoed, c.until!.toISOString()]).to.deep.equal([false, '2026-04-02T09:00:00.000Z']);
    expect(fileEmbargo(sky, { ingestedAt: () => undefined }, at).embargoed).to.equal(true);
    expect(fileEmbargo(sky, { observed: { kind: 'invalid', text: '15/08/25', hdu: 0, reason: 'is not a FITS date' }, ingestedAt: () => new Date('2020-01-01') }, at).embargoed).to.equal(true);
  });

  describe('through the classifier and decide()', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-rolling-'));
    let n = 0;
    const classify = (data: Buffer): Classification => {
      const p = join(dir, `f${n++}.fits`);
      writeFileSync(p, data);
      const r = readFitsFile(p);
      if (r.kind !== 'fits') throw new Error(r.reason);
      return new Classifier(classificationSchema.parse({})).classify(p, r.headers);
    };
    const modes = modesSchema.parse({});
    const mode = (c: Classification, ingestedAt?: Date) => {
      const d = decide(c, { uid: 0, gid: 0, mode: 0o664 }, () => rolling, modes, now, { ingestedAt: () => ingestedAt });
      if (d.action === 'leave') throw new Error(d.why);
      return d.target.mode.toString(8);
    };

    it('hands DATE-OBS of the campaign HDU (else the primary) to the policy', () => {
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky'], ['DATE-OBS', '2024-01-01T03:04:05']])))).to.equal('644');
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky'], ['DATE-OBS', '2026-01-01']])))).to.equal('640');
      // campaign in an image extension with its own DATE-OBS: that one rules over the primary's
      const primary: Card[] = [['SIMPLE', true], ['BITPIX', 8], ['NAXIS', 0], ['EXTEND', true]];
      const image = (cards: Card[]) => Buffer.concat([header(cards, [['XTENSION', 'IMAGE'], ['BITPIX', 8], ['NAXIS', 2], ['NAXIS1', 4], ['NAXIS2', 1], ['PCOUNT', 0], ['GCOUNT', 1]]), Buffer.alloc(2880)]);
      const both = classify(Buffer.concat([header([['DATE-OBS', '2020-01-01']], primary), image([['CAMPAIGN', 'sky'], ['DATE-OBS', '2026-05-01']])]));
      expect(both).to.deep.include({ kind: 'science', observed: { kind: 'date', date: new Date('2026-05-01T00:00:00Z'), text: '2026-05-01', hdu: 1 } });
      expect(mode(both)).to.equal('640');
      const fromPrimary = classify(Buffer.concat([header([['DATE-OBS', '2020-01-01']], primary), image([['CAMPAIGN', 'sky']])]));
      expect(mode(fromPrimary)).to.equal('644');
    });

    it('bad or valueless DATE-OBS: closed; missing: the ingest time, else closed', () => {
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky'], ['DATE-OBS', '01/01/90']])), new Date(0))).to.equal('640');
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky'], ['DATE-OBS', 19900101]])), new Date(0))).to.equal('640');
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky'], 'DATE-OBS='])), new Date(0))).to.equal('640');
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky']])), new Date(0))).to.equal('644');
      expect(mode(classify(fitsFile([['CAMPAIGN', 'sky']])), undefined)).to.equal('640');
    });
  });
});
