/**
 * The embargo rules as the configuration gives them, validated once at load (zod): how files are
 * classified (classify.ts) and the modes they get (policy.ts). Kept apart from the decisions, which
 * use only these types, so that a worker thread deciding files does not load zod (a third of its
 * start).
 */
import { z } from 'zod';
import { fileModeSchema } from '../file-mode.js';

/** A header keyword as the reader names it: 1-8 of A-Z 0-9 _ -, or "HIERARCH WORD WORD ...". */
const fitsKeyword = z.string().regex(/^([A-Z0-9_-]{1,8}|HIERARCH( [A-Za-z0-9_.-]+)+)$/, 'a FITS keyword: at most 8 of A-Z 0-9 _ -, or HIERARCH ...');
const keywordRule = z.union([
  z.object({ keyword: fitsKeyword, values: z.array(z.string()).min(1) }).strict(),
  z.object({ keyword: fitsKeyword, pattern: z.string().min(1) }).strict(),
]);
const hduKind = z.enum(['primary', 'image', 'compressed-image', 'table']);

export const classificationSchema = z.object({
  /** Header keywords that may name the campaign, in priority order within one HDU. */
  campaignKeywords: z.array(fitsKeyword).min(1).default(['CAMPAIGN', 'PROPOSID', 'OBS_ID']),
  /** Kinds of HDU searched for them, in file order (what astropy shows as PrimaryHDU, ImageHDU, CompImageHDU, table HDUs). */
  campaignHdus: z.array(hduKind).min(1).default(['primary', 'image', 'compressed-image']),
  /** 'exact': the header's text must be the campaign's name; 'lower': it is lower-cased first (ABC and abc become one campaign). */
  campaignCase: z.enum(['exact', 'lower']).default('exact'),
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

/** A kind of HDU the campaign is looked for in. */
export type CampaignHduKind = z.infer<typeof hduKind>;

export const modesSchema = z
  .object({
    /** science data under embargo: owner rw, group r, world nothing */
    embargoed: fileModeSchema.refine((m) => m <= 0o777, 'no special bits on data files').default(0o640),
    /** public data */
    public: fileModeSchema.refine((m) => m <= 0o777, 'no special bits on data files').default(0o644),
    /** what a FITS file without any campaign keyword gets: leave it alone (reported) or quarantine it */
    noCampaign: z.enum(['leave', 'quarantine']).default('leave'),
  })
  .refine((m) => (m.embargoed & 0o007) === 0, { message: 'the embargoed mode must not give the world any access', path: ['embargoed'] })
  .refine((m) => (m.public & 0o022) === 0, { message: 'the public mode must not let group or world write', path: ['public'] })
  .default({ embargoed: 0o640, public: 0o644, noCampaign: 'leave' });
export type Modes = z.infer<typeof modesSchema>;
