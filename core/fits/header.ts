/**
 * One FITS header (FITS Standard 4.0, §4): 2880-byte blocks of 80-character ASCII cards ending at
 * the END card. Cards are read by ./card.ts; this module joins long strings (CONTINUE, §4.2.1.2)
 * and keeps, per keyword, its value or the reason it has none that we trust.
 *
 * Decisions that matter for security:
 * - a keyword that appears twice keeps its FIRST value (as astropy's `header[kw]`); two different
 *   values make it a problem, so a later card can neither override nor contradict it unnoticed;
 * - HIERARCH keywords keep their "HIERARCH " prefix, so `HIERARCH CAMPAIGN = ...` can never
 *   shadow the standard keyword CAMPAIGN;
 * - a byte outside printable ASCII is an error for the whole header, not something to guess about.
 */
import { ValidationError } from '../errors.js';
import { astropyLongString, parseCard } from './card.js';
import { plain, type FitsValue } from './value.js';

export const BLOCK = 2880;
const CARD = 80;
/** Headers longer than this are refused (a real one is a few blocks; this bounds hostile input). */
export const MAX_HEADER_BLOCKS = 200;

/** Not a FITS header we can read; a ValidationError: refuse (quarantine) the file, change nothing. */
export class FitsError extends ValidationError {
  static override code = 'ERR_FITS';
  override readonly code: string = 'ERR_FITS';
  override readonly name: string = 'FitsError';
}

export interface Entry {
  value: FitsValue;
  /** set when the value cannot be trusted (malformed card, ambiguous CONTINUE, conflicting duplicate) */
  problem?: string;
}

export class FitsHeader {
  private readonly entries = new Map<string, Entry>();
  /** number of bytes the header occupies (a multiple of 2880) */
  size = 0;

  set(keyword: string, value: FitsValue, problem?: string): void {
    const seen = this.entries.get(keyword);
    if (!seen) {
      this.entries.set(keyword, problem ? { value, problem } : { value });
      return;
    }
    if (seen.problem) return;
    if (problem) seen.problem = `a later ${keyword} card: ${problem}`;
    else if (JSON.stringify(plain(seen.value)) !== JSON.stringify(plain(value))) seen.problem = `${keyword} appears more than once with different values`;
  }
  /** The value (first card wins); check `entry()` for a problem before trusting it for a decision. */
  get(keyword: string): FitsValue | undefined {
    return this.entries.get(keyword)?.value;
  }
  entry(keyword: string): Entry | undefined {
    return this.entries.get(keyword);
  }
  has(keyword: string): boolean {
    return this.entries.has(keyword);
  }
  keywords(): string[] {
    return [...this.entries.keys()];
  }
}

type Pending = { keyword: string; text: string; amp: boolean; continued: boolean };

/**
 * Reads a header block by block (so a stream need not hold more than one block): `push` returns
 * true at the END card. The first card must be SIMPLE = T (primary) or XTENSION (extension).
 */
export class HeaderParser {
  readonly header = new FitsHeader();
  private cards = 0;
  private pending: Pending | undefined;
  /** the keyword of the last value card, to blame a stray CONTINUE on */
  private last: string | undefined;

  constructor(private readonly first: 'SIMPLE' | 'XTENSION') {}

  push(block: Uint8Array): boolean {
    if (block.length !== BLOCK) {
      throw new FitsError(this.cards === 0 && block.length === 0 ? 'no header: the data ends before it' : `header is truncated: ${block.length} bytes of a 2880-byte block, no END card before the end of the data`);
    }
    if (this.cards / 36 >= MAX_HEADER_BLOCKS) throw new FitsError(`no END card in the first ${MAX_HEADER_BLOCKS} header blocks`);
    const text = blockText(block);
    for (let pos = 0; pos < BLOCK; pos += CARD) {
      const image = text.slice(pos, pos + CARD);
      if (this.cards++ === 0) checkFirstCard(image, this.first);
      if (this.card(image)) {
        this.header.size = Math.ceil(this.cards / 36) * BLOCK;
        return true;
      }
    }
    return false;
  }

  private card(image: string): boolean {
    const card = parseCard(image);
    if (card.kind === 'continue') {
      this.continuation(card);
      return false;
    }
    this.flush();
    if (card.kind === 'end') return true;
    if (card.kind === 'commentary') {
      this.last = undefined;
      return false;
    }
    this.last = card.keyword;
    if (card.string && !card.problem) this.pending = { keyword: card.keyword, text: card.string.text, amp: card.string.amp, continued: false };
    else this.header.set(card.keyword, card.value, card.problem);
    return false;
  }

  private continuation(card: { text?: string; amp?: boolean; problem?: string }): void {
    const p = this.pending;
    if (!p) {
      // astropy appends it to the previous card whatever that is (and fails on a non-string).
      if (this.last) this.header.set(this.last, null, 'a CONTINUE card after a value that is not a string');
      return;
    }
    if (card.problem) return this.fail(p, card.problem);
    // astropy joins a CONTINUE to any string; the standard only to one ending in &.
    if (!p.amp) return this.fail(p, 'a CONTINUE card after a string that does not end in & (astropy joins it, the FITS standard does not)');
    p.text += card.text!;
    p.amp = card.amp!;
    p.continued = true;
  }

  private fail(p: Pending, problem: string): void {
    this.header.set(p.keyword, null, problem);
    this.pending = undefined;
  }

  private flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    // A single card's trailing & is literal (astropy and CFITSIO agree). After CONTINUEs, astropy
    // drops it and CFITSIO keeps it; the standard only says the last substring has none.
    if (p.amp && p.continued) return this.header.set(p.keyword, null, 'the last CONTINUE card of a long string ends in & (astropy drops it, CFITSIO keeps it)');
    const text = p.amp ? `${p.text}&` : p.text.trimEnd();
    if (p.continued && astropyLongString(text) !== text) return this.header.set(p.keyword, null, 'quotes in a long string that astropy reads differently');
    this.header.set(p.keyword, text);
  }
}

/** Parse the header at `offset` in `buf`; throws FitsError when it is not complete there. */
export function parseHeader(buf: Uint8Array, offset = 0, first: 'SIMPLE' | 'XTENSION' = 'SIMPLE'): FitsHeader {
  const parser = new HeaderParser(first);
  for (let pos = offset; ; pos += BLOCK) {
    if (parser.push(buf.subarray(pos, Math.min(pos + BLOCK, buf.length)))) return parser.header;
  }
}

function blockText(buf: Uint8Array): string {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) throw new FitsError(`byte 0x${c.toString(16).padStart(2, '0')} at header offset ${i} is not printable ASCII: not a FITS header`);
  }
  return Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1');
}

function checkFirstCard(card: string, first: 'SIMPLE' | 'XTENSION'): void {
  if (first === 'SIMPLE' && !/^SIMPLE  = {20}T/.test(card)) throw new FitsError('not a FITS file: the first card is not SIMPLE = T');
  if (first === 'XTENSION' && !card.startsWith('XTENSION= ')) throw new FitsError('extension header does not start with XTENSION');
}
