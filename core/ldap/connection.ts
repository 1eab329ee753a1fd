/**
 * Directory access over ldapts: a few bound connections, a cap on operations in flight (slapd
 * drops a connection with ~1000 outstanding operations), connect and operation timeouts so a dead
 * or hung server gives DirectoryUnavailableError quickly, and translation of LDAP result codes
 * into typed errors (core/ldap/errors.ts).
 */
import type { ConnectionOptions } from 'node:tls';
import { tlsPeer } from './tls-peer.js';
import { readFileSync } from 'node:fs';
import { Attribute, Change, Client, type Filter, type SearchOptions } from 'ldapts';
import { ConfigError } from '../errors.js';
import type { LdapConfig } from './config.js';
import { resolveLdapPassword } from './config.js';
import { LdapEntry } from './entry.js';
import { translateLdapError } from './errors.js';
import { Semaphore } from './semaphore.js';

export interface LdapConnectionOptions {
  url: string;
  bindDn: string;
  password: string;
  connectTimeoutMs?: number;
  operationTimeoutMs?: number;
  maxConcurrency?: number;
  poolSize?: number;
  tlsOptions?: ConnectionOptions;
  /** upgrade ldap:// with StartTLS before binding */
  startTls?: boolean;
}

export type Scope = 'base' | 'one' | 'sub';

export interface SearchParams {
  scope?: Scope;
  /** A filter string whose values were escaped (escape.ts `filter`), or an ldapts Filter object. */
  filter?: string | Filter;
  attributes?: string[];
  sizeLimit?: number;
  /** Page size for the paged-results control; 0/absent = one request. */
  pageSize?: number;
}

/** One modification: add/delete/replace values of one attribute (delete with no values removes it). */
export interface Modification {
  operation: 'add' | 'delete' | 'replace';
  attribute: string;
  values?: string[];
}

export type AttributeMap = Record<string, string | string[]>;

/** One ldapts client bound as the service account; rebinds lazily after a dropped connection. */
class Session {
  private client: Client;
  private binding: Promise<void> | undefined;
  /** operations (or paged searches) using this session now */
  busy = 0;

  constructor(private readonly opts: Required<Omit<LdapConnectionOptions, 'tlsOptions' | 'startTls'>> & { tlsOptions?: ConnectionOptions; startTls?: boolean }) {
    this.client = this.newClient();
  }

  private newClient(): Client {
    return new Client({
      url: this.opts.url,
      connectTimeout: this.opts.connectTimeoutMs,
      timeout: this.opts.operationTimeoutMs,
      // ldapts speaks TLS from the first byte whenever it is given tlsOptions: with StartTLS they go to startTLS() instead.
      ...(this.opts.startTls ? {} : { tlsOptions: this.opts.tlsOptions }),
      strictDN: true,
    });
  }

  /** A bound client. Concurrent callers share one bind; a failed bind is retried by the next caller. */
  async ready(): Promise<Client> {
    if (this.client.isConnected && this.client.isBound) return this.client;
    if (!this.binding) {
      // Start over on a fresh client: ldapts would otherwise reconnect unauthenticated.
      const client = this.client.isConnected ? this.client : (this.client = this.newClient());
      const upgrade = this.opts.startTls && !client.isConnected
        ? client.startTLS({ ...this.opts.tlsOptions, ...tlsPeer(new URL(this.opts.url).hostname) })
        : Promise.resolve();
      this.binding = upgrade.then(() => client.bind(this.opts.bindDn, this.opts.password)).finally(() => {
        this.binding = undefined;
      });
    }
    await this.binding;
    return this.client;
  }

  async close(): Promise<void> {
    try {
      await this.client.unbind();
    } catch {
      /* closing anyway */
    }
  }
}

export class LdapConnection {
  private readonly sessions: Session[];
  private readonly gate: Semaphore;
  private closed = false;

  constructor(readonly options: LdapConnectionOptions) {
    const full = {
      connectTimeoutMs: 3000,
      operationTimeoutMs: 10000,
      maxConcurrency: 64,
      poolSize: 4,
      ...options,
    };
    if (full.maxConcurrency > 900) throw new ConfigError('maxConcurrency above 900 risks slapd dropping the connection');
    this.gate = new Semaphore(full.maxConcurrency);
    this.sessions = Array.from({ length: full.poolSize }, () => new Session(full));
  }

  /** Build from the validated config section; url and credentials must be present. */
  static fromConfig(cfg: LdapConfig): LdapConnection {
    const password = resolveLdapPassword(cfg);
    if (!cfg.url || !cfg.bindDn || password === undefined) {
      throw new ConfigError('ldap.url, ldap.bindDn and ldap.password(File) are required to connect');
    }
    return new LdapConnection({
      url: cfg.url,
      bindDn: cfg.bindDn,
      password,
      connectTimeoutMs: cfg.connectTimeoutMs,
      operationTimeoutMs: cfg.operationTimeoutMs,
      maxConcurrency: cfg.maxConcurrency,
      poolSize: cfg.poolSize,
      tlsOptions: cfg.caFile ? { ca: readFileSync(cfg.caFile), minVersion: 'TLSv1.2' } : undefined,
      startTls: cfg.startTls,
    });
  }

  get bindDn(): string {
    return this.options.bindDn;
  }

  /** Operations currently holding a slot (for tests and metrics). */
  get inFlight(): number {
    return this.gate.inFlight;
  }

  /**
   * The session with the fewest operations in flight (the first of them): operations in turn share
   * one connection and one bind, concurrent ones spread over the pool, which connects as they come.
   */
  private pick(): Session {
    let best = this.sessions[0]!;
    for (const s of this.sessions) if (s.busy < best.busy) best = s;
    return best;
  }

  /** Run fn with a bound client under the concurrency cap; errors come out translated. */
  async withClient<T>(what: string, fn: (client: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw translateLdapError(new Error('connection closed'), what);
    return this.gate.run(async () => {
      const session = this.pick();
      session.busy++;
      try {
        return await fn(await session.ready());
      } catch (err) {
        throw translateLdapError(err, what);
      } finally {
        session.busy--;
      }
    });
  }

  async search(base: string, params: SearchParams = {}): Promise<LdapEntry[]> {
    const options = toSearchOptions(params);
    return this.withClient(`search ${base} ${String(params.filter ?? '')}`, async (c) => {
      const res = await c.search(base, options);
      return res.searchEntries.map(LdapEntry.fromLdapts);
    });
  }

  /**
   * Paged search, one page at a time (each page request takes its own slot), so large reads
   * (the agent's full scan) do not hold everything twice in memory.
   */
  async *searchPages(base: string, params: SearchParams & { pageSize: number }): AsyncGenerator<LdapEntry[]> {
    const options = toSearchOptions(params);
    const what = `paged search ${base} ${String(params.filter ?? '')}`;
    // One session for the whole paged search: the cookie is bound to the connection.
    const session = this.pick();
    session.busy++;
    let iterator: AsyncGenerator<{ searchEntries: import('ldapts').Entry[] }> | undefined;
    try {
      const client = await this.gate.run(() => session.ready()).catch((err) => {
        throw translateLdapError(err, what);
      });
      iterator = client.searchPaginated(base, options);
      for (;;) {
        const step = await this.gate.run(() => iterator!.next()).catch((err) => {
          throw translateLdapError(err, what);
        });
        if (step.done) return;
        yield step.value.searchEntries.map(LdapEntry.fromLdapts);
      }
    } finally {
      session.busy--;
      await iterator?.return(undefined).catch(() => undefined);
    }
  }

  /** The entry at dn, or undefined when it does not exist. */
  async read(dn: string, attributes?: string[]): Promise<LdapEntry | undefined> {
    try {
      const [entry] = await this.search(dn, { scope: 'base', attributes });
      return entry;
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined;
      throw err;
    }
  }

  async add(dn: string, attributes: AttributeMap): Promise<void> {
    const attrs = Object.entries(attributes)
      .filter(([, v]) => !(Array.isArray(v) && v.length === 0))
      .map(([type, v]) => new Attribute({ type, values: Array.isArray(v) ? v : [v] }));
    await this.withClient(`add ${dn}`, (c) => c.add(dn, attrs));
  }

  /** All modifications in one LDAP modify: applied atomically or not at all. */
  async modify(dn: string, mods: Modification[]): Promise<void> {
    const changes = mods.map(
      (m) => new Change({ operation: m.operation, modification: new Attribute({ type: m.attribute, values: m.values ?? [] }) }),
    );
    await this.withClient(`modify ${dn}`, (c) => c.modify(dn, changes));
  }

  async delete(dn: string): Promise<void> {
    await this.withClient(`delete ${dn}`, (c) => c.del(dn));
  }

  async compare(dn: string, attribute: string, value: string): Promise<boolean> {
    return this.withClient(`compare ${dn}`, (c) => c.compare(dn, attribute, value));
  }

  /**
   * Connect and bind a session now, so that the first operation finds it ready: a command starts
   * this while it still loads its modules. A failure here is the first operation's to report (it
   * binds again), so it is swallowed.
   */
  warmUp(): void {
    if (this.closed) return;
    void this.gate.run(() => this.sessions[0]!.ready()).catch(() => undefined);
  }

  /** Check that the server answers and our credentials work (bind + read of the base). */
  async ping(baseDn: string): Promise<void> {
    await this.search(baseDn, { scope: 'base', attributes: ['1.1'] });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

function toSearchOptions(p: SearchParams): SearchOptions {
  return {
    scope: p.scope ?? 'sub',
    filter: p.filter ?? '(objectClass=*)',
    attributes: p.attributes,
    sizeLimit: p.sizeLimit ?? 0,
    paged: p.pageSize ? { pageSize: p.pageSize } : false,
  };
}
