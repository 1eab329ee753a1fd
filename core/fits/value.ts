/**
 * Keyword values as the card writes them (FITS Standard 4.0, section 4.2). Numbers keep their
 * text: an integer is exact (BigInt), never rounded through a double, and a campaign taken from
 * a number is that integer's decimal digits, never a float's rendering.
 */

export class FitsNumber {
  /** `text`: the card's digits, e.g. `-0012`, `1.5D+3` */
  constructor(
    readonly text: string,
    readonly integer: boolean,
  ) {}

  /** The exact integer (astropy: Python int); undefined for a real. */
  bigint(): bigint | undefined {
    return this.integer ? BigInt(this.text) : undefined;
  }

  /** As a double: exact for integers below 2^53 only, so never used for names. */
  toNumber(): number {
    return Number(this.integer ? this.text : this.text.replace(/[Dd]/, 'E'));
  }

  /** Integers as their canonical decimal (what astropy's str(int) prints); reals as written. */
  toString(): string {
    return this.integer ? BigInt(this.text).toString() : this.text;
  }
}

/** `(re, im)`: kept as written; never a campaign. */
export class FitsComplex {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** null: the keyword is present with an undefined value (`KEY     =` and nothing, FITS 4.0 §4.2.5). */
export type FitsValue = string | boolean | null | FitsNumber | FitsComplex;

/** A value as plain JSON, for comparisons and logs: integers as decimal text, reals as numbers. */
export function plain(v: FitsValue): string | boolean | number | null | { integer: string } | { complex: string } {
  if (v instanceof FitsNumber) return v.integer ? { integer: v.toString() } : v.toNumber();
  if (v instanceof FitsComplex) return { complex: v.text };
  return v;
}

/** Small non-negative integer of a structural keyword (NAXISn, BITPIX...), or undefined when it is not one. */
export function smallInteger(v: FitsValue | undefined, max: bigint): bigint | undefined {
  if (!(v instanceof FitsNumber) || !v.integer) return undefined;
  const n = v.bigint()!;
  return n >= -max && n <= max ? n : undefined;
}
