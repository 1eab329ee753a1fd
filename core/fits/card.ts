/**
 * One 80-character header card (FITS Standard 4.0, §4.1-4.2), read as the standard says and
 * cross-checked against astropy's reading: where a card is one that astropy would read
 * differently (or refuse), the card names its keyword and carries a `problem` instead of a
 * guessed value. The header decides what a problem means (for a campaign keyword: quarantine).
 */
import { FitsComplex, FitsNumber, type FitsValue } from './value.js';

export type Card =
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
export function parseCard(image: string): Card {
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

export function parseValue(field: string): { value: FitsValue; string?: { text: string; amp: boolean }; problem?: string } {
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
 * What the header keeps for a value card that no CONTINUE card follows: parseValue's reading,
 * with a string's trailing & kept (it is literal on a single card). The common forms (a string
 * without inner quotes, T/F, an integer, a real, each followed by blanks or a `/` comment) are
 * read by one regex that gives exactly what parseValue gives; everything else goes to parseValue.
 */
export function readValue(field: string): { value: FitsValue; problem?: string } {
  const fast = scanValue(field);
  if (fast !== undefined) return { value: fast };
  const v = parseValue(field);
  if (v.problem) return { value: v.value, problem: v.problem };
  return { value: v.string ? (v.string.amp ? `${v.string.text}&` : v.string.text) : v.value };
}

/**
 * The common forms in one regex, each followed by blanks or a `/` comment: 1 a string, when the
 * field has no other quote (none inside, none in the comment), 2 T/F, 3 an integer (INTEGER),
 * 4 a real (REAL, tried only when 3 fails, as in parseValue).
 */
const COMMON = new RegExp(String.raw`^ *(?:'([^']*)' *(?:\/[^']*)?$|(?:([TF])|([+-]?\d+)|(${NUM})) *(?:\/[\s\S]*)?$)`);

/** The value of a field in one of the common forms; undefined when parseValue must decide. */
function scanValue(field: string): FitsValue | undefined {
  const m = COMMON.exec(field);
  if (!m) return undefined;
  // No other quote in the field: no '' to unescape, and astropy's non-greedy match ends at the same quote.
  if (m[1] !== undefined) return m[1].trimEnd();
  if (m[2] !== undefined) return m[2] === 'T';
  if (m[3] !== undefined) return new FitsNumber(m[3], true);
  return new FitsNumber(m[4]!, false);
}

/**
 * A quoted string (§4.2.1.1): `''` is one quote, leading blanks are significant, trailing blanks
 * are not. Only a blank field or a `/` comment may follow the closing quote. When astropy's
 * non-greedy regex would end the string at a different quote (`'x'' / K = ''y'`), neither
 * reading is trusted.
 */
export function parseString(field: string): { text: string; amp: boolean } | { problem: string } {
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
export function astropyLongString(joined: string): string | undefined {
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
