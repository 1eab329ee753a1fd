/**
 * Classification of an ingested file, from configurable rules: which header keyword names the
 * campaign, and which files are public (quick-looks, previews, metadata) rather than science data.
 * Derived products carry the campaign keyword like raw data and are science data unless a public
 * rule matches. Campaign values are normalised (trimmed, lower-cased) and must then be a valid
 * campaign name; anything else is "invalid", never silently rewritten into another name.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { NAME_PATTERN } from '../directory/validate.js';
import { lookup, type FitsHeaders } from '../fits/header.js';

/** A header keyword as the reader names it: 1-8 of A-Z 0-9 _ -, or "HIERARCH WORD WORD ...". */
const fitsKeyword = z.string().regex(/^([A-Z0-9_-]{1,8}|HIERARCH( [A-Za-z0-9_.-]+)+)$/, 'a FITS keyword: at most 8 of A-Z 0-9 _ -, or HIERARCH ...');
const keywordRule = z.union([
  z.object({ keyword: fitsKeyword, values: z.array(z.string()).min(1) }).strict(),
  z.object({ keyword: fitsKeyword, pattern: z.string().min(1) }).strict(),
]);

export const classificationSchema = z.object({
  /** Header keywords that may name the campaign; the first one present wins. */
  campaignKeywords: z.array(fitsKeyword).min(1).default(['CAMPAIGN', 'PROPOSID', 'OBS_ID']),
  /** File names (globs, `*` and `?`) that are FITS and have their header read. */
  fitsPatterns: z.array(z.string()).default(['*.fits', '*.fit', '*.fts', '*.fits.gz', '*.fits.fz', '*.fz']),
  public: z
    .object({
      /** Header rules marking quick-looks/previews/metadata, e.g. { keyword: LEVEL, values: [QL, PREVIEW] }; FITS keywords have at most 8 characters (longer ones are HIERARCH ...). */
      keywords: z.array(keywordRule).default([{ keyword: 'LEVEL', values: ['QL', 'QUICKLOOK', 'PREVIEW'] }]),
      /** File names that are always public (previews are often not FITS). */
      filenames: z.array(z.string()).default(['*.png', '*.jpg', '*.jpeg', '*.gif', '*_ql.fits', '*.xml', '*.json']),
    })
    .default({ keywords: [{ keyword: 'LEVEL', values: ['QL', 'QUICKLOOK', 'PREVIEW'] }], filenames: ['*.png', '*.jpg', '*.jpeg', '*.gif', '*_ql.fits', '*.xml', '*.json'] }),
});
export type ClassificationRules = z.infer<typeof classificationSchema>;

export type Classification =
  | { kind: 'science'; campaign: string; reason: string }
  | { kind: 'public'; campaign?: string; reason: string }
  | { kind: 'no-campaign'; reason: string }
  | { kind: 'invalid-campaign'; value: string; reason: string }
  | { kind: 'not-fits'; reason: string };

/** Rules compiled once (globs to regexes). */
export class Classifier {
  private readonly fits: RegExp;
  private readonly publicNames: RegExp;
  private readonly publicKeywords: { keyword: string; test: (v: string) => boolean }[];

  constructor(readonly rules: ClassificationRules) {
    this.fits = anyOf(rules.fitsPatterns);
    this.publicNames = anyOf(rules.public.filenames);
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
    let raw: string | undefined;
    let from: string | undefined;
    for (const keyword of this.rules.campaignKeywords) {
      const v = lookup(headers, keyword);
      if (v !== undefined && v !== null && String(v).trim() !== '') {
        raw = String(v);
        from = keyword;
        break;
      }
    }
    const publicHeader = this.publicKeywords.find((r) => {
      const v = lookup(headers, r.keyword);
      return v !== undefined && v !== null && r.test(String(v));
    });
    const isPublic = publicName || !!publicHeader;
    const why = publicName ? 'public file name' : publicHeader ? `${publicHeader.keyword} marks a quick-look/preview` : '';
    if (raw === undefined) return isPublic ? { kind: 'public', reason: why } : { kind: 'no-campaign', reason: `none of ${this.rules.campaignKeywords.join(', ')} in the header` };
    const campaign = raw.trim().toLowerCase();
    if (!NAME_PATTERN.test(campaign)) return { kind: 'invalid-campaign', value: raw, reason: `${from} = ${JSON.stringify(raw)} is not a campaign name` };
    return isPublic ? { kind: 'public', campaign, reason: why } : { kind: 'science', campaign, reason: `${from} = ${campaign}` };
  }
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`, 'i');
}

function globSource(glob: string): string {
  return glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
}

/** One regex matching any of the globs (never matches when the list is empty). */
function anyOf(globs: string[]): RegExp {
  return globs.length ? new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 'i') : /(?!)/;
}
