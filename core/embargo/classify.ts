/**
 * Classification of an ingested file, from configurable rules: which header keywords name the
 * campaign and in which HDUs they are looked for, and which files are public (quick-looks,
 * previews, metadata) rather than science data. Derived products carry the campaign keyword like
 * raw data and are science data unless a public rule matches.
 *
 * The campaign is the value of the first campaign keyword present in the first searched HDU that
 * has one (HDUs in file order, keywords in configured order). Present means decided: a keyword
 * present without a usable value (undefined, empty, a real number, a card we read differently
 * from astropy) is an invalid campaign, never a reason to look further; so is the same keyword
 * with another value in another searched HDU. The value is taken as the
 * card has it (an integer as its exact digits) and compared exactly, unless `campaignCase` says
 * lower; see docs/fits.md.
 */
import { basename } from 'node:path';
import { NAME_PATTERN } from '../directory/validate.js';
import type { CampaignHduKind, ClassificationRules } from './rules.js';
import type { FitsHeaders, HduKind } from '../fits/hdus.js';
import { FitsNumber, plain, type FitsValue } from '../fits/value.js';
import { parseFitsDate, type ObservationDate } from '../fits/date.js';
import { memoLast } from '../memo-last.js';

export type { ClassificationRules } from './rules.js';

/** Where a campaign (or the reason there is none usable) was found. */
export interface CampaignSource {
  /** 0 = primary HDU, n = n-th extension (astropy's index) */
  hdu: number;
  hduKind: HduKind;
  keyword: string;
}

export type Classification =
  | { kind: 'science'; campaign: string; reason: string; source: CampaignSource; observed?: ObservationDate }
  | { kind: 'public'; campaign?: string; reason: string; source?: CampaignSource }
  | { kind: 'no-campaign'; reason: string }
  | { kind: 'invalid-campaign'; value: string; reason: string; source?: CampaignSource }
  | { kind: 'not-fits'; reason: string };

type Found = { source: CampaignSource; value: FitsValue; problem?: string };

/** Rules compiled once (globs to regexes). */
export class Classifier {
  private readonly fits: RegExp;
  private readonly publicNames: RegExp;
  private readonly publicKeywords: { keyword: string; test: (v: string) => boolean }[];
  private readonly hdus: Set<HduKind>;

  constructor(readonly rules: ClassificationRules) {
    this.fits = anyGlob(rules.fitsPatterns);
    this.publicNames = anyGlob(rules.public.filenames);
    this.hdus = new Set(rules.campaignHdus);
    this.publicKeywords = rules.public.keywords.map((r) => {
      if ('values' in r) {
        const set = new Set(r.values.map((v) => v.trim().toUpperCase()));
        return { keyword: r.keyword, test: (v: string) => set.has(v.trim().toUpperCase()) };
      }
      const re = new RegExp(r.pattern);
      return { keyword: r.keyword, test: (v: string) => re.test(v) };
    });
  }

  isFits(path: string): boolean {
    return this.fits.test(basename(path));
  }

  isPublicByName(path: string): boolean {
    return this.publicNames.test(basename(path));
  }

  /** Classify from the file name and, for FITS files, its headers. */
  classify(path: string, headers: FitsHeaders | undefined): Classification {
    const publicName = this.isPublicByName(path);
    if (!headers) return publicName ? { kind: 'public', reason: 'public file name' } : { kind: 'not-fits', reason: 'not a FITS file and no public name rule' };
    const publicHeader = this.publicKeywords.find((r) => {
      const f = this.find(headers, [r.keyword]);
      return f && !f.problem && f.value !== null && r.test(String(f.value));
    });
    const isPublic = publicName || !!publicHeader;
    const why = publicName ? 'public file name' : publicHeader ? `${publicHeader.keyword} marks a quick-look/preview` : '';

    const found = this.find(headers, this.rules.campaignKeywords);
    if (!found) {
      const where = `none of ${this.rules.campaignKeywords.join(', ')} in the ${this.rules.campaignHdus.join(', ')} HDUs`;
      // The campaign may be in an HDU we did not reach: never decide without it.
      if (headers.stopped) return { kind: 'invalid-campaign', value: '', reason: `${where} read; the rest of the file was not: ${headers.stopped}` };
      return isPublic ? { kind: 'public', reason: why } : { kind: 'no-campaign', reason: where };
    }
    const { source } = found;
    const at = sourceText(source.keyword, source.hdu, source.hduKind);
    const invalid = (value: string, problem: string): Classification => ({ kind: 'invalid-campaign', value, reason: `${at}: ${problem}`, source });
    if (found.problem) return invalid('', found.problem);
    const conflict = this.conflict(headers, found);
    if (conflict) return invalid('', conflict);
    const v = found.value;
    if (v === null) return invalid('', 'present without a value (undefined): not looked for elsewhere');
    if (typeof v !== 'string' && !(v instanceof FitsNumber && v.integer)) return invalid(String(v), `${JSON.stringify(String(v))} is not a string or an integer`);
    const raw = String(v); // an integer's exact digits (BigInt), never a float's rendering
    const campaign = this.rules.campaignCase === 'lower' ? raw.toLowerCase() : raw;
    if (!NAME_PATTERN.test(campaign)) return invalid(raw, `${JSON.stringify(raw)} is not a campaign name`);
    if (isPublic) return { kind: 'public', campaign, reason: why, source };
    const observed = observationDate(headers, source.hdu);
    return { kind: 'science', campaign, reason: scienceReason(at, campaign), source, ...(observed ? { observed } : {}) };
  }

  /** Another searched HDU that has the deciding keyword with another value, or none usable: not ours to choose. */
  private conflict(headers: FitsHeaders, found: Found): string | undefined {
    const same = JSON.stringify(plain(found.value));
    for (const hdu of headers.hdus) {
      if (hdu.index === found.source.hdu || !this.hdus.has(hdu.kind as CampaignHduKind)) continue;
      const e = hdu.header.entry(found.source.keyword);
      if (e && (e.problem || JSON.stringify(plain(e.value)) !== same)) return `HDU ${hdu.index} (${hdu.kind}) has ${found.source.keyword} too, with ${e.problem ? 'an unreadable' : 'a different'} value`;
    }
    return undefined;
  }

  /** The first of `keywords` present in the first searched HDU that has one. */
  private find(headers: FitsHeaders, keywords: string[]): Found | undefined {
    for (const hdu of headers.hdus) {
      if (!this.hdus.has(hdu.kind as CampaignHduKind)) continue;
      for (const keyword of keywords) {
        const e = hdu.header.entry(keyword);
        if (e) return { source: { hdu: hdu.index, hduKind: hdu.kind, keyword }, value: e.value, ...(e.problem ? { problem: e.problem } : {}) };
      }
    }
    return undefined;
  }
}

// A directory's files name their campaign alike: one reason string, not one per file.
const sourceText = memoLast((keyword: string, hdu: number, hduKind: HduKind) => `${keyword} in HDU ${hdu} (${hduKind})`);
const scienceReason = memoLast((at: string, campaign: string) => `${at} = ${campaign}`);

/**
 * DATE-OBS of the HDU the campaign was found in, else of the primary HDU (rolling release, see
 * policy.fileEmbargo). Present but unusable (no value, not a string, not a strict FITS date, a card
 * read with a problem) is 'invalid': the file then stays closed, never falls back to another date.
 */
export function observationDate(headers: FitsHeaders, campaignHdu: number): ObservationDate | undefined {
  for (const index of campaignHdu === 0 ? [0] : [campaignHdu, 0]) {
    const hdu = headers.hdus.find((h) => h.index === index);
    const e = hdu?.header.entry('DATE-OBS');
    if (!e) continue;
    const text = e.value === null ? '' : String(e.value);
    if (e.problem) return { kind: 'invalid', text, hdu: index, reason: `is unreadable: ${e.problem}` };
    const date = parseFitsDate(e.value);
    if (!date) return { kind: 'invalid', text, hdu: index, reason: "is not a FITS date ('YYYY-MM-DD' or 'YYYY-MM-DDThh:mm:ss[.fff]')" };
    return { kind: 'date', date, text: text.replace(/ +$/, ''), hdu: index };
  }
  return undefined;
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`, 'i');
}

function globSource(glob: string): string {
  return glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
}

/**
 * One regex matching a name when any of the globs does (never, for an empty list). When every glob
 * starts with `*` (the usual `*.png`, `*_ql.fits`), the `.*` is written once before the
 * alternatives: the same names, but V8 no longer retries every alternative from every position
 * (~250 ns a name for the seven default globs instead of ~60).
 */
export function anyGlob(globs: string[]): RegExp {
  if (!globs.length) return /(?!)/;
  if (globs.every((g) => g.startsWith('*'))) return new RegExp(`^.*(?:${globs.map((g) => globSource(g.slice(1))).join('|')})$`, 'i');
  return new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 'i');
}
