/**
 * The FITS header reader as it was before the fast rewrite (core/fits/card.ts, header.ts and
 * hdus.ts at e007a6c: a regex per card, a value object per card, BigInt in dataSize), kept only as
 * the reference the differential test holds the current reader to. Not used by the agent.
 * Errors are the production FitsError class (so `instanceof` and messages compare directly).
 */
import { FitsError } from '../../../core/fits/header.js';
import { BoundError, type Source } from '../../../core/fits/source.js';
import { FitsComplex, FitsNumber, plain, type FitsValue } from '../../../core/fits/value.js';
import type { HduKind } from '../../../core/fits/hdus.js';

type Card =
  | { kind: 'end' }
  /** COMMENT, HISTORY, blank keyword: no value */
  | { kind: 'commentary' }
  /** `text`: the substring (quotes unescaped, trailing blanks dropped); `amp`: it ended in & (removed from `text`) */
  | { kind: 'continue'; text?: string; amp?: boolean; problem?: string }
  | { kind: 'value'; keyword: string; value: FitsValue; string?: { text: string; amp: boolean }; problem?: string };

const KEYWORD = /^[A-Z0-9_-]{1,8}$/;
const NUM = String.raw`[+-]?(?:\.\d+|\d+(?:\.\d*)?)(?:[EeDd][+-]?\d+)?`;
const COMMENT = String.raw` *(?:\/[\s\S]*)?$`;
const INTEGER = new RegExp(String.raw`^ *([+-]?\d+)${COMMENT}`);
const REAL = new RegExp(`^ *(${NUM})${COMMENT}`);
const COMPLEX = new RegExp(String.raw`^ *(\( *${NUM} *, *${NUM} *\))${COMMENT}`);
const LOGICAL = new RegExp(`^ *([TF])${COMMENT}`);
const UNDEFINED = new RegExp(`^${COMMENT}`);
/** astropy 5.2 card.py `_strg` + the value/comment regex: a non-greedy string up to a quote followed by end, `/` or blank. */
const ASTROPY_STRING = new RegExp(String.raw`^ *'((?:[ -~]+?|''|) *?)'(?=$|\/| ) *(?:\/ *[\s\S]*)?$`);

/** `image`: exactly 80 printable ASCII characters (checked by the caller). */
export function refParseCard(image: string): Card {
  const name = image.slice(0, 8);
  if (name === 'END     ') {
    // §4.4.1.1: END has no value and blanks after it; astropy reads this card as END with an odd value and reads on.
    return image.slice(8).trim() === '' ? { kind: 'end' } : { kind: 'value', keyword: 'END', value: null, problem: 'an END card with text after it' };
  }
  if (name === 'CONTINUE') return parseContinue(image);
  const upper = name.trimEnd().toUpperCase();
  if (upper === '' || upper === 'COMMENT' || upper === 'HISTORY') return { kind: 'commentary' };
  if (image.startsWith('HIERARCH ')) return parseHierarch(image);
  if (image.slice(8, 10) === '= ') {
    const keyword = name.trimEnd();
    if (!KEYWORD.test(keyword)) {
      return { kind: 'value', keyword: upper, value: null, problem: `keyword ${JSON.stringify(keyword)} is not a standard keyword (A-Z 0-9 _ -)` };
    }
    return { kind: 'value', keyword, ...parseValue(image.slice(10)) };
  }
  // astropy also reads `KEY= 'x'` (value indicator before column 9) and a keyword with no value
  // indicator as an invalid card; the standard reads neither as a value. Named, never guessed.
  const eq = image.indexOf('= ');
  const keyword = (eq >= 0 && eq < 8 ? image.slice(0, eq) : name).trim().toUpperCase();
  if (keyword === '') return { kind: 'commentary' };
  return { kind: 'value', keyword, value: null, problem: `${keyword}: no value indicator "= " in columns 9-10` };
}

/** ESO HIERARCH convention: `HIERARCH WORD WORD = value`, names kept with the prefix so they never shadow a standard keyword. */
function parseHierarch(image: string): Card {
  const eq = image.indexOf('=');
  if (eq < 0) return { kind: 'commentary' };
  const words = image.slice(9, eq).trim().split(/ +/);
  const keyword = `HIERARCH ${words.join(' ')}`;
  if (words[0] === '') return { kind: 'value', keyword: 'HIERARCH', value: null, problem: 'HIERARCH card without a keyword' };
  return { kind: 'value', keyword, ...parseValue(image.slice(eq + 1)) };
}

function parseValue(field: string): { value: FitsValue; string?: { text: string; amp: boolean }; problem?: string } {
  if (field.trimStart().startsWith("'")) {
    const s = parseString(field);
    if ('problem' in s) return { value: null, problem: s.problem };
    return { value: s.text, string: s };
  }
  let m;
  if ((m = LOGICAL.exec(field))) return { value: m[1] === 'T' };
  if ((m = INTEGER.exec(field))) return { value: new FitsNumber(m[1]!, true) };
  if ((m = REAL.exec(field))) return { value: new FitsNumber(m[1]!, false) };
  if ((m = COMPLEX.exec(field))) return { value: new FitsComplex(m[1]!) };
  if (UNDEFINED.test(field)) return { value: null };
  return { value: null, problem: `unparsable value ${JSON.stringify(field.trim().slice(0, 40))}` };
}

/**
 * A quoted string (§4.2.1.1): `''` is one quote, leading blanks are significant, trailing blanks
 * are not. Only a blank field or a `/` comment may follow the closing quote. When astropy's
 * non-greedy regex would end the string at a different quote (`'x'' / K = ''y'`), neither
 * reading is trusted.
 */
function parseString(field: string): { text: string; amp: boolean } | { problem: string } {
  const open = field.indexOf("'");
  let out = '';
  let i = open + 1;
  for (; i < field.length; i++) {
    if (field[i] !== "'") out += field[i];
    else if (field[i + 1] === "'") {
      out += "'";
      i++;
    } else break;
  }
  if (i >= field.length) return { problem: 'string value without a closing quote' };
  if (!UNDEFINED.test(field.slice(i + 1))) return { problem: `text after the closing quote: ${JSON.stringify(field.slice(i + 1).trim().slice(0, 40))}` };
  const astropy = ASTROPY_STRING.exec(field);
  const text = out.trimEnd();
  if (!astropy || astropy[1]!.replace(/''/g, "'").trimEnd() !== text) return { problem: "quotes that astropy and the FITS standard read differently (a '' before a / or a blank)" };
  const amp = text.endsWith('&');
  return { text: amp ? text.slice(0, -1) : text, amp };
}

/**
 * What astropy makes of a joined long string: it unescapes each substring, joins them, and
 * parses the join once more as one quoted string (card.py `_split`, `_parse_value`), so quotes
 * in a long string can come out differently. Undefined when that parse fails.
 */
function astropyLongString(joined: string): string | undefined {
  const m = ASTROPY_STRING.exec(`'${joined}' / `);
  return m ? m[1]!.replace(/''/g, "'").trimEnd() : undefined;
}

/** `CONTINUE  'substring&' / comment` (§4.2.1.2): blanks in columns 9-10, then a string. */
function parseContinue(image: string): Card {
  const field = image.slice(8);
  if (!field.trimStart().startsWith("'") || image.slice(8, 10) !== '  ') return { kind: 'continue', problem: 'a CONTINUE card without a string value' };
  const s = parseString(field);
  if ('problem' in s) return { kind: 'continue', problem: `CONTINUE card: ${s.problem}` };
  return { kind: 'continue', text: s.text, amp: s.amp };
}


const BLOCK = 2880;
const CARD = 80;
/** Headers longer than this are refused (a real one is a few blocks; this bounds hostile input). */
const MAX_HEADER_BLOCKS = 200;


interface Entry {
  value: FitsValue;
  /** set when the value cannot be trusted (malformed card, ambiguous CONTINUE, conflicting duplicate) */
  problem?: string;
}

export class RefHeader {
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
export class RefHeaderParser {
  readonly header = new RefHeader();
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
    const card = refParseCard(image);
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
export function refParseHeader(buf: Uint8Array, offset = 0, first: 'SIMPLE' | 'XTENSION' = 'SIMPLE'): RefHeader {
  const parser = new RefHeaderParser(first);
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


interface Hdu {
  /** 0 for the primary HDU, 1 for the first extension... (astropy's index in `fits.open()`) */
  index: number;
  kind: HduKind;
  header: RefHeader;
}

export interface RefHeaders {
  primary: RefHeader;
  /** every HDU read, primary first */
  hdus: Hdu[];
  /** the first tile-compressed image's header, if any */
  compressed?: RefHeader;
  /** set when the walk stopped before the end of the file (a bound, or unreadable bytes after an HDU) */
  stopped?: string;
}

const MAX_HDUS = 64;

export function refWalkHdus(source: Source, maxHdus = MAX_HDUS): RefHeaders {
  const primary = readHeader(source, 'SIMPLE');
  const hdus: Hdu[] = [{ index: 0, kind: 'primary', header: primary }];
  const result = (stopped?: string): RefHeaders => {
    const compressed = hdus.find((h) => h.kind === 'compressed-image')?.header;
    return { primary, hdus, ...(compressed ? { compressed } : {}), ...(stopped ? { stopped } : {}) };
  };
  let header = primary;
  for (;;) {
    const size = refDataSize(header, hdus.length === 1);
    let first: Buffer;
    try {
      source.skip(size);
      first = source.read(BLOCK);
    } catch (err) {
      if (err instanceof FitsError) return result(`after HDU ${hdus.length - 1}: ${err.message}`);
      throw err;
    }
    if (first.length === 0) return result();
    if (first.length < BLOCK || first.subarray(0, 10).toString('latin1') !== 'XTENSION= ') {
      return result(`after HDU ${hdus.length - 1}: ${first.length} bytes that are not an extension (ignored, as astropy does)`);
    }
    if (hdus.length >= maxHdus) return result(`more than ${maxHdus} HDUs: the rest not read`);
    header = readHeader(source, 'XTENSION', first);
    hdus.push({ index: hdus.length, kind: kindOf(header), header });
  }
}

function readHeader(source: Source, first: 'SIMPLE' | 'XTENSION', block?: Buffer): RefHeader {
  const parser = new RefHeaderParser(first);
  try {
    for (let b = block ?? source.read(BLOCK); !parser.push(b); b = source.read(BLOCK));
  } catch (err) {
    if (err instanceof BoundError) throw new FitsError(`while reading a header: ${err.message}`, { cause: err });
    throw err;
  }
  return parser.header;
}

function kindOf(h: RefHeader): HduKind {
  const x = h.get('XTENSION');
  const type = typeof x === 'string' ? x.trimEnd() : '';
  if (type === 'IMAGE') return 'image';
  if (type === 'BINTABLE' && h.get('ZIMAGE') === true) return 'compressed-image';
  if (type === 'BINTABLE' || type === 'TABLE') return 'table';
  return 'other';
}

/** Files are far below this; anything larger is a hostile or corrupt header (and keeps offsets exact doubles). */
const MAX_DATA = 2n ** 50n;
const BITPIX = new Set([8n, 16n, 32n, 64n, -32n, -64n]);

/** Bytes of the data unit after `h`, padded to whole blocks; FitsError for structural keywords that make no sense. */
export function refDataSize(h: RefHeader, primary: boolean): number {
  const need = (kw: string, max: bigint): bigint => {
    const e = h.entry(kw);
    const n = e && !e.problem ? smallInteger(e.value, max) : undefined;
    if (n === undefined || n < 0n) throw new FitsError(`${kw} is missing or not an integer in 0..${max}: ${describe(e?.value)}`);
    return n;
  };
  const optional = (kw: string, dflt: bigint): bigint => (h.has(kw) ? need(kw, MAX_DATA) : dflt);
  const bitpix = smallInteger(h.get('BITPIX'), 64n);
  if (bitpix === undefined || !BITPIX.has(bitpix) || h.entry('BITPIX')?.problem) throw new FitsError(`BITPIX is not one of 8, 16, 32, 64, -32, -64: ${describe(h.get('BITPIX'))}`);
  const naxis = need('NAXIS', 999n);
  if (naxis === 0n) return 0;
  // Random groups (§6): GROUPS = T and NAXIS1 = 0 in the primary; NAXIS1 is not an axis then.
  const groups = primary && h.get('GROUPS') === true && smallInteger(h.get('NAXIS1'), 0n) === 0n;
  let n = 1n;
  for (let i = groups ? 2 : 1; i <= Number(naxis); i++) {
    n *= need(`NAXIS${i}`, MAX_DATA);
    if (n > MAX_DATA) throw new FitsError(`data unit larger than 2^50 bytes (NAXIS${i})`);
  }
  const [pcount, gcount] = primary && !groups ? [0n, 1n] : [optional('PCOUNT', 0n), optional('GCOUNT', 1n)];
  const bytes = ((bitpix < 0n ? -bitpix : bitpix) / 8n) * gcount * (pcount + n);
  if (bytes > MAX_DATA) throw new FitsError('data unit larger than 2^50 bytes (PCOUNT/GCOUNT)');
  const blocks = (bytes + BigInt(BLOCK) - 1n) / BigInt(BLOCK);
  return Number(blocks) * BLOCK;
}

function describe(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(String(v));
}

/** core/fits/value.ts smallInteger at e007a6c. */
function smallInteger(v: FitsValue | undefined, max: bigint): bigint | undefined {
  if (!(v instanceof FitsNumber) || !v.integer) return undefined;
  const n = v.bigint()!;
  return n >= -max && n <= max ? n : undefined;
}
