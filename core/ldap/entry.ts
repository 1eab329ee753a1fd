import type { Entry } from 'ldapts';

/** A search result entry with case-insensitive attribute access and string values. */
export class LdapEntry {
  private readonly attrs = new Map<string, string[]>();

  /** Values by lower-cased attribute name, as core/directory/decode.ts reads them. */
  get attributes(): ReadonlyMap<string, readonly string[]> {
    return this.attrs;
  }

  constructor(readonly dn: string, attributes: Record<string, unknown>) {
    for (const [name, raw] of Object.entries(attributes)) {
      if (name === 'dn') continue;
      const values = (Array.isArray(raw) ? raw : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
      if (values.length) this.attrs.set(name.toLowerCase(), values); // ldapts lists requested-but-absent attributes as []
    }
  }

  static fromLdapts(e: Entry): LdapEntry {
    return new LdapEntry(e.dn, e);
  }

  /** First value, or undefined when the attribute is absent. */
  get(name: string): string | undefined {
    return this.attrs.get(name.toLowerCase())?.[0];
  }

  /** All values (empty array when absent). */
  getAll(name: string): string[] {
    return this.attrs.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.attrs.has(name.toLowerCase());
  }

  /** First value as an integer; undefined when absent or not an integer. */
  getInt(name: string): number | undefined {
    const v = this.get(name);
    return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
  }
}
