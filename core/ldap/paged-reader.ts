/**
 * A minimal LDAPv3 client for one job: simple bind, then a paged search (RFC 2696) that streams
 * entries to a callback, decoding only the requested attributes straight from the BER bytes.
 * The agent reads the whole directory every sync, and a general-purpose client (ldapts) spends
 * most of that time building objects it then throws away: this reader keeps the map sync as
 * fast as `ldapsearch` and its memory flat. Everything else uses ldapts (core/ldap/connection.ts).
 *
 * Any failure (connection lost, timeout, non-success result, malformed response) rejects the
 * whole search with DirectoryUnavailableError: callers never see a partial result as complete.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { DirectoryUnavailableError } from '../errors.js';
import { tlsPeer } from './tls-peer.js';

export interface PagedReaderOptions {
  url: string;
  bindDn: string;
  password: string;
  timeoutMs?: number;
  tls?: ConnectionOptions;
  /** upgrade ldap:// with StartTLS (RFC 4511 ExtendedRequest 1.3.6.1.4.1.1466.20037) before binding */
  startTls?: boolean;
}

export interface PagedSearch {
  base: string;
  scope: 'base' | 'one' | 'sub';
  /** only equality filters `(attr=value)` are needed by the readers */
  equality: [string, string];
  attributes: string[];
  pageSize: number;
}

/** One entry: its DN and the requested attributes' values (attribute names lower-cased). */
export type EntryVisitor = (dn: string, attrs: Map<string, string[]>) => void;

/**
 * Read ahead before the caller can take the entries: until `until` resolves, entries are kept as
 * they arrived (their undecoded bytes, no copy) while the next pages are still asked for; past
 * `maxBytes` of them the socket is paused (the server waits), so what is kept stays bounded. Then
 * the kept entries are visited in order and the search streams on. A rejected `until` ends the
 * search with that error.
 */
export interface ReadAhead {
  until: Promise<unknown>;
  maxBytes: number;
}

const PAGED_OID = '1.2.840.113556.1.4.319';
const EMPTY = Buffer.alloc(0);
/** Size of the chunks a read-ahead search keeps its entries in. */
const KEEP_CHUNK = 1 << 20;
const START_TLS_OID = '1.3.6.1.4.1.1466.20037';

export class PagedReader {
  private socket: Socket | undefined;
  private nextId = 1;
  /** the start of a message cut by the end of the last chunk */
  private buffer: Buffer = EMPTY;
  private waiter: { id: number; onMessage: (op: number, body: Buffer, controls: Buffer | undefined) => boolean; resolve: () => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly options: PagedReaderOptions) {}

  async open(): Promise<void> {
    const u = new URL(this.options.url);
    const secure = u.protocol === 'ldaps:';
    const port = Number(u.port || (secure ? 636 : 389));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    await new Promise<void>((resolve, reject) => {
      const s = secure ? tlsConnect({ ...tlsPeer(host), port, ...this.options.tls }, resolve) : netConnect({ host, port }, resolve);
      s.once('error', reject);
      s.setTimeout(this.options.timeoutMs ?? 10000, () => s.destroy(new Error('connection timed out')));
      this.socket = s;
    }).catch((err: Error) => {
      throw new DirectoryUnavailableError(`cannot connect to ${this.options.url}: ${err.message}`, { cause: err });
    });
    this.listen(this.socket!);
    if (this.options.startTls && !secure) await this.startTls(host);
    const bind = seq(0x60, [int(3), octets(this.options.bindDn), tagged(0x80, Buffer.from(this.options.password, 'utf8'))]);
    await this.request(bind, (op, body) => {
      if (op !== 0x61) throw new DirectoryUnavailableError(`unexpected bind answer 0x${op.toString(16)}`);
      checkResult(body, 'bind');
      return true;
    });
  }

  private listen(s: Socket): void {
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err) => this.fail(new DirectoryUnavailableError(`connection to ${this.options.url} failed: ${err.message}`, { cause: err })));
    s.on('close', () => this.fail(new DirectoryUnavailableError(`connection to ${this.options.url} closed`)));
  }

  /** StartTLS: the extended operation, then TLS over the same socket (server certificate checked against the host name). */
  private async startTls(host: string): Promise<void> {
    await this.request(seq(0x77, [tagged(0x80, Buffer.from(START_TLS_OID, 'latin1'))]), (op, body) => {
      if (op !== 0x78) throw new DirectoryUnavailableError(`unexpected StartTLS answer 0x${op.toString(16)}`);
      checkResult(body, 'StartTLS');
      return true;
    });
    const plain = this.socket!;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    plain.setTimeout(0);
    const secure = await new Promise<Socket>((resolve, reject) => {
      const t = tlsConnect({ socket: plain, ...tlsPeer(host), ...this.options.tls }, () => resolve(t));
      t.once('error', reject);
      t.setTimeout(this.options.timeoutMs ?? 10000, () => t.destroy(new Error('TLS handshake timed out')));
    }).catch((err: Error) => {
      throw new DirectoryUnavailableError(`StartTLS with ${this.options.url} failed: ${err.message}`, { cause: err });
    });
    this.socket = secure;
    this.listen(secure);
  }

  /**
   * Stream every entry of a paged search to `visit`; resolves after the last page. Each entry is
   * decoded and visited as soon as its message is complete, while the rest of the page is still on
   * its way: nothing of a page is kept, so no per-entry object outlives the moment it is visited
   * (a page held for later would carry a thousand small buffers through the young generation into
   * the old one, every page). An exception from `visit` ends the search with that exception.
   * With `ahead`, entries that arrive before the caller is ready are kept undecoded (ReadAhead).
   */
  async search(q: PagedSearch, visit: EntryVisitor, ahead?: ReadAhead): Promise<number> {
    const wanted = wantedOf(q.attributes);
    let cookie: Buffer = Buffer.alloc(0);
    let count = 0;
    let visitorError: { error: unknown } | undefined;
    const deliver = (body: Buffer) => {
      const [dn, attrs] = decodeEntry(body, wanted);
      try {
        visit(dn, attrs);
      } catch (error) {
        visitorError = { error };
        throw error;
      }
      count++;
    };
    let keep: ((body: Buffer) => void) | undefined;
    let released: Promise<void> = Promise.resolve();
    if (ahead) {
      // Kept entries are copied into chunks of their own (the received buffers, a few entries
      // each, go back to be reused at once), placed by three numbers each (no object per entry);
      // each chunk is let go as soon as its entries are visited.
      const chunks: (Buffer | undefined)[] = [];
      let where = new Uint32Array(3 * 4096);
      let n = 0;
      let used = KEEP_CHUNK;
      let keptBytes = 0;
      let paused = false;
      const socket = this.socket!;
      keep = (body: Buffer) => {
        if (used + body.length > KEEP_CHUNK) {
          chunks.push(Buffer.allocUnsafeSlow(Math.max(KEEP_CHUNK, body.length)));
          used = 0;
        }
        if (3 * n === where.length) {
          const grown = new Uint32Array(where.length * 2);
          grown.set(where);
          where = grown;
        }
        body.copy(chunks[chunks.length - 1]!, used);
        where[3 * n] = chunks.length - 1;
        where[3 * n + 1] = used;
        where[3 * n + 2] = used += body.length;
        n++;
        keptBytes += body.length;
        if (!paused && keptBytes > ahead.maxBytes) {
          paused = true;
          socket.pause();
          // Waiting on ourselves, not on the server: the idle timeout is off until the entries are taken.
          socket.setTimeout(0);
        }
      };
      released = ahead.until.then(() => {
        keep = undefined;
        for (let i = 0; i < n; i++) {
          const c = where[3 * i]!;
          deliver(chunks[c]!.subarray(where[3 * i + 1]!, where[3 * i + 2]!));
          if (i + 1 === n || where[3 * i + 3] !== c) chunks[c] = undefined;
        }
        chunks.length = 0;
        if (paused) {
          socket.setTimeout(this.options.timeoutMs ?? 10000);
          socket.resume();
        }
      });
      // Any failure here (the caller's, a visit, a malformed entry) ends the connection, and so the search.
      released.catch((err: Error) => {
        this.fail(err);
        this.socket?.destroy();
      });
    }
    do {
      const filter = seq(0xa3, [octets(q.equality[0]), octets(q.equality[1])]);
      const req = seq(0x63, [octets(q.base), enumerated({ base: 0, one: 1, sub: 2 }[q.scope]), enumerated(0), int(0), int(0), bool(false), filter, seq(0x30, q.attributes.map(octets))]);
      const control = seq(0x30, [octets(PAGED_OID), bool(true), octetsBuf(seq(0x30, [int(q.pageSize), octetsBuf(cookie)]))]);
      let nextCookie: Buffer = Buffer.alloc(0);
      try {
        await this.request(req, (op, body, controls) => {
          if (op === 0x64) {
            if (keep) keep(body);
            else deliver(body);
            return false;
          }
          if (op === 0x73) return false; // referral continuation: not used in our tree
          if (op !== 0x65) throw new DirectoryUnavailableError(`unexpected search answer 0x${op.toString(16)}`);
          checkResult(body, `search ${q.base}`);
          nextCookie = pagedCookie(controls);
          return true;
        }, seq(0xa0, [control]));
      } catch (err) {
        throw visitorError ? visitorError.error : err;
      }
      cookie = nextCookie;
    } while (cookie.length > 0);
    await released.catch((err: unknown) => {
      throw visitorError ? visitorError.error : err;
    });
    return count;
  }

  async close(): Promise<void> {
    const s = this.socket;
    if (!s || s.destroyed) return;
    s.write(message(this.nextId++, Buffer.from([0x42, 0x00])));
    await new Promise<void>((resolve) => s.end(resolve));
    s.destroy();
  }

  private request(op: Buffer, onMessage: (op: number, body: Buffer, controls: Buffer | undefined) => boolean, controls?: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiter = { id, onMessage, resolve, reject };
      this.socket!.write(message(id, op, controls));
    });
  }

  /**
   * Messages are read where they lie in the received chunk. Only a message cut by a chunk's end
   * is joined into a buffer of its own, from the bytes it still needs: the rest of the next
   * chunk is not copied (joining each new chunk to the tail of the last would copy every byte).
   */
  private onData(chunk: Buffer): void {
    let rest = chunk;
    try {
      if (this.buffer.length) {
        const cut = this.buffer;
        const head = readHeader(cut.length >= 6 ? cut : Buffer.concat([cut, chunk.subarray(0, 6)]), 0);
        const missing = head ? head.end - cut.length : Infinity;
        if (missing > chunk.length) {
          // Still incomplete (a message longer than this chunk, or a length not all there yet).
          this.buffer = Buffer.concat([cut, chunk]);
          return;
        }
        const whole = Buffer.concat([cut, chunk.subarray(0, missing)]);
        this.buffer = EMPTY;
        this.consume(whole);
        rest = chunk.subarray(missing);
      }
      const pos = this.consume(rest);
      this.buffer = pos === rest.length ? EMPTY : rest.subarray(pos);
    } catch (err) {
      this.fail(err as Error);
      this.socket?.destroy();
    }
  }

  /** Hand every complete message in buf to the waiter; returns where the first incomplete one begins. */
  private consume(buf: Buffer): number {
    let pos = 0;
    while (pos < buf.length) {
      const head = readHeader(buf, pos);
      if (!head || head.end > buf.length) break;
      if (buf[pos] !== 0x30) throw new DirectoryUnavailableError('malformed LDAP message');
      // LDAPMessage: messageID, protocolOp, [0] controls
      const idTlv = need(buf, head.start, head.end);
      const id = readInt(buf, idTlv.start, idTlv.end);
      const opTlv = need(buf, idTlv.end, head.end);
      const controls = opTlv.end < head.end ? buf.subarray(opTlv.end, head.end) : undefined;
      const w = this.waiter;
      if (w && w.id === id && w.onMessage(buf[idTlv.end]!, buf.subarray(opTlv.start, opTlv.end), controls)) {
        this.waiter = undefined;
        w.resolve();
      }
      pos = head.end;
    }
    return pos;
  }

  private fail(err: Error): void {
    this.failure ??= err instanceof DirectoryUnavailableError ? err : new DirectoryUnavailableError(err.message, { cause: err });
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }
}

// --- BER encoding (only what the requests above need) ---------------------------------------
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tagged(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), len(content.length), content]);
}
function seq(tag: number, parts: Buffer[]): Buffer {
  return tagged(tag, Buffer.concat(parts));
}
function octets(s: string): Buffer {
  return tagged(0x04, Buffer.from(s, 'utf8'));
}
function octetsBuf(b: Buffer): Buffer {
  return tagged(0x04, b);
}
function intBytes(n: number): Buffer {
  const bytes = [n & 0xff];
  for (let v = n >> 8; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return Buffer.from(bytes);
}
function int(n: number): Buffer {
  return tagged(0x02, intBytes(n));
}
function enumerated(n: number): Buffer {
  return tagged(0x0a, intBytes(n));
}
function bool(b: boolean): Buffer {
  return tagged(0x01, Buffer.from([b ? 0xff : 0]));
}
function message(id: number, op: Buffer, controls?: Buffer): Buffer {
  return seq(0x30, controls ? [int(id), op, controls] : [int(id), op]);
}

// --- BER decoding -------------------------------------------------------------------------------
interface Tlv {
  start: number;
  end: number;
}
/** Tag at pos; returns where its content starts and ends, or undefined when the length is not all there. */
function readHeader(buf: Buffer, pos: number): Tlv | undefined {
  if (pos + 2 > buf.length) return undefined;
  let p = pos + 1;
  let length = buf[p++]!;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4) throw new DirectoryUnavailableError('unsupported BER length');
    if (p + n > buf.length) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
  }
  return { start: p, end: p + length };
}
function readInt(buf: Buffer, start: number, end: number): number {
  let v = buf[start]! & 0x80 ? -1 : 0;
  for (let i = start; i < end; i++) v = v * 256 + buf[i]!;
  return v;
}
function need(buf: Buffer, pos: number, limit: number): Tlv {
  const t = readHeader(buf, pos);
  if (!t || t.end > limit) throw new DirectoryUnavailableError('malformed LDAP response');
  return t;
}

function checkResult(body: Buffer, what: string): void {
  const code = need(body, 0, body.length);
  const resultCode = readInt(body, code.start, code.end);
  if (resultCode === 0) return;
  const matched = need(body, code.end, body.length);
  const diag = need(body, matched.end, body.length);
  throw new DirectoryUnavailableError(`${what} failed: LDAP result ${resultCode} ${body.toString('utf8', diag.start, diag.end)}`.trim());
}

/** A requested attribute: its lower-cased name, and that name's bytes to match the answer's type against. */
interface Wanted {
  name: string;
  bytes: Buffer;
}

export function wantedOf(attributes: string[]): Wanted[] {
  return [...new Set(attributes.map((a) => a.toLowerCase()))].map((name) => ({ name, bytes: Buffer.from(name, 'latin1') }));
}

/** The requested attribute whose name is buf[start, end) (ASCII, any case), or undefined. No string is made to find it. */
function match(wanted: Wanted[], buf: Buffer, start: number, end: number): string | undefined {
  const length = end - start;
  next: for (const w of wanted) {
    if (w.bytes.length !== length) continue;
    for (let i = 0; i < length; i++) {
      let c = buf[start + i]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== w.bytes[i]) continue next;
    }
    return w.name;
  }
  return undefined;
}

/** A SearchResultEntry's body: its DN and the wanted attributes (lower-cased names); malformed: DirectoryUnavailableError. Exported for its property test. */
export function decodeEntry(body: Buffer, wanted: Wanted[]): [string, Map<string, string[]>] {
  const dnTlv = need(body, 0, body.length);
  const dn = body.toString('utf8', dnTlv.start, dnTlv.end);
  const attrs = new Map<string, string[]>();
  const list = need(body, dnTlv.end, body.length);
  for (let p = list.start; p < list.end; ) {
    const attr = need(body, p, list.end);
    const type = need(body, attr.start, attr.end);
    const name = match(wanted, body, type.start, type.end);
    if (name !== undefined) {
      const set = need(body, type.end, attr.end);
      const values: string[] = [];
      for (let q = set.start; q < set.end; ) {
        const v = need(body, q, set.end);
        values.push(body.toString('utf8', v.start, v.end));
        q = v.end;
      }
      attrs.set(name, values);
    }
    p = attr.end;
  }
  return [dn, attrs];
}

/** The cookie of the paged-results response control; empty when the search is complete. */
function pagedCookie(controls: Buffer | undefined): Buffer {
  if (!controls) return Buffer.alloc(0);
  const outer = need(controls, 0, controls.length);
  for (let p = outer.start; p < outer.end; ) {
    const control = need(controls, p, outer.end);
    const oid = need(controls, control.start, control.end);
    if (controls.toString('latin1', oid.start, oid.end) === PAGED_OID) {
      let q = oid.end;
      let value = need(controls, q, control.end);
      if (controls[q] === 0x01) {
        q = value.end;
        value = need(controls, q, control.end);
      }
      const inner = need(controls, value.start, value.end);
      const size = need(controls, inner.start, inner.end);
      const cookie = need(controls, size.end, inner.end);
      return Buffer.from(controls.subarray(cookie.start, cookie.end));
    }
    p = control.end;
  }
  return Buffer.alloc(0);
}
