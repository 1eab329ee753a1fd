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
import { astropyLongString, parseCard, parseValue, readValue } from './card.js';
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

/**
 * The cards of one keyword not read yet: the first and the later ones, each a value field's raw
 * text (read by readValue when asked) or a value already read. A later field with the same text
 * as the first is not kept: it reads the same, so it can neither differ nor add a problem.
 */
class Unread {
  readonly later: (string | Entry)[];
  constructor(
    readonly first: string | Entry,
    second: string | Entry,
  ) {
    this.later = [second];
  }
}

/** An entry, or the raw value field of a keyword's only card so far, or several cards not read yet. */
type Slot = Entry | string | Unread;

export class FitsHeader {
  private readonly entries = new Map<string, Slot>();
  /** number of bytes the header occupies (a multiple of 2880) */
  size = 0;

  /**
   * A card's value: the first card wins; a later one with a problem, or with a different value,
   * makes the keyword a problem.
   */
  set(keyword: string, value: FitsValue, problem?: string): void {
    const seen = this.entries.get(keyword);
    const e: Entry = problem ? { value, problem } : { value };
    if (seen === undefined) this.entries.set(keyword, e);
    else if (typeof seen === 'string') this.entries.set(keyword, new Unread(seen, e));
    else if (seen instanceof Unread) seen.later.push(e);
    else apply(seen, keyword, value, problem);
  }

  /** A value card's raw value field (a card no CONTINUE follows), read only when the keyword is asked for. */
  setField(keyword: string, field: string): void {
    const seen = this.entries.get(keyword);
    if (seen === undefined) this.entries.set(keyword, field);
    else if (typeof seen === 'string') {
      if (seen !== field) this.entries.set(keyword, new Unread(seen, field));
    } else if (seen instanceof Unread) {
      if (seen.first !== field) seen.later.push(field);
    } else {
      const r = readValue(field);
      apply(seen, keyword, r.value, r.problem);
    }
  }

  /** The value (first card wins); check `entry()` for a problem before trusting it for a decision. */
  get(keyword: string): FitsValue | undefined {
    return this.entry(keyword)?.value;
  }
  entry(keyword: string): Entry | undefined {
    const slot = this.entries.get(keyword);
    if (slot === undefined || (typeof slot !== 'string' && !(slot instanceof Unread))) return slot;
    const e = resolve(slot, keyword);
    this.entries.set(keyword, e);
    return e;
  }
  has(keyword: string): boolean {
    return this.entries.has(keyword);
  }
  keywords(): string[] {
    return [...this.entries.keys()];
  }
}

function read(field: string | Entry): Entry {
  if (typeof field !== 'string') return field;
  const r = readValue(field);
  return r.problem ? { value: r.value, problem: r.problem } : { value: r.value };
}

function resolve(slot: string | Unread, keyword: string): Entry {
  if (typeof slot === 'string') return read(slot);
  const e = slot.first;
  const first = typeof e === 'string' ? read(e) : e;
  for (const later of slot.later) {
    if (first.problem) break;
    const r = read(later);
    apply(first, keyword, r.value, r.problem);
  }
  return first;
}

/** A later card of `keyword` (FitsHeader.set's rule). */
function apply(seen: Entry, keyword: string, value: FitsValue, problem?: string): void {
  if (seen.problem) return;
  if (problem) seen.problem = `a later ${keyword} card: ${problem}`;
  else if (JSON.stringify(plain(seen.value)) !== JSON.stringify(plain(value))) seen.problem = `${keyword} appears more than once with different values`;
}

type Pending = { keyword: string; text: string; amp: boolean; continued: boolean };

/**
 * Reads a header block by block (so a stream need not hold more than one block): `push` returns
 * true at the END card. The first card must be SIMPLE = T (primary) or XTENSION (extension).
 *
 * A card `KEYWORD = value` with a standard keyword is not read here: its raw value field is held
 * until the next card shows that no CONTINUE follows, then handed to the header unread. Every
 * other card (and a held one a CONTINUE follows) is read by parseCard as it comes.
 */
export class HeaderParser {
  readonly header = new FitsHeader();
  private cards = 0;
  private pending: Pending | undefined;
  /** the keyword of the last value card, to blame a stray CONTINUE on */
  private last: string | undefined;
  /** a standard value card not handed on yet: its keyword (undefined: none) and raw value field */
  private heldKeyword: string | undefined;
  private heldField = '';

  constructor(private readonly first: 'SIMPLE' | 'XTENSION') {}

  push(block: Uint8Array): boolean {
    if (block.length !== BLOCK) {
      throw new FitsError(this.cards === 0 && block.length === 0 ? 'no header: the data ends before it' : `header is truncated: ${block.length} bytes of a 2880-byte block, no END card before the end of the data`);
    }
    if (this.cards / 36 >= MAX_HEADER_BLOCKS) throw new FitsError(`no END card in the first ${MAX_HEADER_BLOCKS} header blocks`);
    const text = blockText(block);
    for (let pos = 0; pos < BLOCK; pos += CARD) {
      if (this.cards++ === 0) checkFirstCard(text, this.first);
      const keyword = standardKeyword(text, pos);
      if (keyword !== undefined) {
        this.release();
        this.flush();
        this.last = keyword;
        this.heldKeyword = keyword;
        this.heldField = text.slice(pos + 10, pos + CARD);
      } else if (text.startsWith(END_CARD, pos) || this.card(text.slice(pos, pos + CARD))) {
        // (END and 77 blanks is what parseCard reads as the end; taken here without slicing the card)
        this.release();
        this.flush();
        this.header.size = Math.ceil(this.cards / 36) * BLOCK;
        return true;
      }
    }
    return false;
  }

  private card(image: string): boolean {
    const card = parseCard(image);
    if (card.kind === 'continue') {
      this.readHeld();
      this.continuation(card);
      return false;
    }
    this.release();
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

  /** No CONTINUE follows the held card: the header keeps its raw field. */
  private release(): void {
    if (this.heldKeyword === undefined) return;
    this.header.setField(this.heldKeyword, this.heldField);
    this.heldKeyword = undefined;
  }

  /** A CONTINUE follows the held card: read it now, as parseCard would have. */
  private readHeld(): void {
    const keyword = this.heldKeyword;
    if (keyword === undefined) return;
    this.heldKeyword = undefined;
    const v = parseValue(this.heldField);
    if (v.string && !v.problem) this.pending = { keyword, text: v.string.text, amp: v.string.amp, continued: false };
    else this.header.set(keyword, v.value, v.problem);
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

/**
 * `KEYWORD = ` with a standard keyword (A-Z 0-9 _ -, then blanks) other than the ones parseCard
 * reads apart (END, CONTINUE, COMMENT, HISTORY): the keyword, else undefined.
 */
function standardKeyword(text: string, pos: number): string | undefined {
  if (text.charCodeAt(pos + 8) !== 0x3d /* = */ || text.charCodeAt(pos + 9) !== 0x20) return undefined;
  let n = 0;
  for (; n < 8; n++) {
    const c = text.charCodeAt(pos + n);
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d)) break;
  }
  if (n === 0) return undefined;
  for (let i = n; i < 8; i++) if (text.charCodeAt(pos + i) !== 0x20) return undefined;
  const keyword = text.slice(pos, pos + n);
  if (n === 3 || n >= 7) return keyword === 'END' || keyword === 'CONTINUE' || keyword === 'COMMENT' || keyword === 'HISTORY' ? undefined : keyword;
  return keyword;
}

/** A block's bytes, read 4 at a time (an aligned copy: cheaper than a view on the caller's buffer). */
const words = new Int32Array(BLOCK / 4);
const wordBytes = new Uint8Array(words.buffer);

function blockText(buf: Uint8Array): string {
  wordBytes.set(buf);
  const w = words;
  // A byte b is printable ASCII (0x20..0x7e) when neither b - 0x20 nor b + 1 has the top bit (b < 0x20
  // borrows into it, 0x7f..0xfe carry into it, 0xff - 0x20 keeps it). A borrow or carry between
  // bytes only comes out of a byte that is not printable, and the lowest such byte gets none: a
  // word with any such byte is always caught, and a caught word is read again byte by byte.
  let bad = 0;
  for (let i = 0; i < BLOCK / 4; i += 4) {
    const a = w[i]!;
    const b = w[i + 1]!;
    const c = w[i + 2]!;
    const d = w[i + 3]!;
    bad |= (a - 0x20202020) | (a + 0x01010101) | (b - 0x20202020) | (b + 0x01010101) | (c - 0x20202020) | (c + 0x01010101) | (d - 0x20202020) | (d + 0x01010101);
  }
  if (bad & 0x80808080) {
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (c < 0x20 || c > 0x7e) throw new FitsError(`byte 0x${c.toString(16).padStart(2, '0')} at header offset ${i} is not printable ASCII: not a FITS header`);
    }
  }
  return (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length)).toString('latin1');
}

const END_CARD = 'END'.padEnd(CARD);
/** What /^SIMPLE  = {20}T/ matches: T in column 30. */
const SIMPLE_T = `SIMPLE  =${' '.repeat(20)}T`;

/** `card`: the text from the first card on. */
function checkFirstCard(card: string, first: 'SIMPLE' | 'XTENSION'): void {
  if (first === 'SIMPLE' && !card.startsWith(SIMPLE_T)) throw new FitsError('not a FITS file: the first card is not SIMPLE = T');
  if (first === 'XTENSION' && !card.startsWith('XTENSION= ')) throw new FitsError('extension header does not start with XTENSION');
}
