/**
 * The stores' side of decode.ts: entries that do not decode are left out of what the portal sees
 * (the map reader leaves the same ones out) and logged once each, so an operator can fix them.
 */
import { lazyLogger } from '../log.js';
import type { LdapEntry } from '../ldap/entry.js';
import type { AttributeValues, Decoded } from './decode.js';
import type { DirectoryLayout } from './layout.js';

type Decoder<T> = (dn: string, attributes: AttributeValues, layout: DirectoryLayout) => Decoded<T>;

const log = lazyLogger('directory');

/** The decoded entry, or undefined (logged) when it does not decode; undefined for no entry. */
export function decodeOne<T>(entry: LdapEntry | undefined, decode: Decoder<T>, layout: DirectoryLayout): T | undefined {
  if (!entry) return undefined;
  const value = decode(entry.dn, entry.attributes, layout);
  if (typeof value !== 'string') return value;
  log.warn({ dn: entry.dn, problem: value }, 'directory entry left out');
  return undefined;
}

/** Every entry that decodes, in order. */
export function decodeAll<T>(entries: LdapEntry[], decode: Decoder<T>, layout: DirectoryLayout): T[] {
  const out: T[] = [];
  for (const e of entries) {
    const v = decodeOne(e, decode, layout);
    if (v !== undefined) out.push(v);
  }
  return out;
}
