/**
 * A private slapd for tests and the demo: back_mdb + syncprov on the suffix, the project's
 * schema, ACLs for the two service accounts, on a free loopback port, in a directory of its own.
 * Data survive a restart in the same directory (the demo's var/slapd); the generated passwords
 * are kept in <dir>/credentials.json (mode 0600) and reused.
 *
 *   const slapd = await startManagedSlapd({ dir: 'var/slapd' });
 *   const ldap = slapd.connect('portal');    // LdapConnection bound as cn=portal,ou=services,...
 *   ...
 *   await ldap.close(); await slapd.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { ConfigError, ConflictError, DirectoryUnavailableError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { DEFAULT_BASE_DN, rangesConfigSchema, type RangesConfig } from './config.js';
import { bootstrapTree, AGENT_SERVICE, NSS_SERVICE, PORTAL_SERVICE, REPLICATION_SERVICE, serviceDn } from './bootstrap.js';
import { LdapConnection, type LdapConnectionOptions } from './connection.js';
import { randomPassword, sshaHash } from './ssha.js';

export const SLAPD_BIN = process.env.CG_SLAPD_BIN ?? '/usr/sbin/slapd';
export const SYSTEM_SCHEMA_DIR = '/etc/ldap/schema';
export const SLAPD_MODULE_DIR = '/usr/lib/ldap';

export interface ManagedSlapdOptions {
  /** Directory for slapd.conf, the mdb data and credentials.json; created if missing. */
  dir: string;
  baseDn?: string;
  ranges?: RangesConfig;
  /** Loopback port; default: a free one chosen at start. */
  port?: number;
  /** How long to wait for slapd to answer (default 15 s). */
  startTimeoutMs?: number;
  /** Where voperson.schema and campaign-guard.schema are (default: the repo's ldap-schema/). */
  schemaDir?: string;
  log?: Logger;
  /**
   * Replication (docs/replication.md). Without it: a single server (the demo). `consumerOf`: a
   * read-only consumer that follows that provider with syncrepl refreshAndPersist; it is not
   * bootstrapped (the tree, service accounts included, comes from the provider) and must be given
   * the provider's `credentials` so the same accounts work on both. `serverId`: slapd's serverID
   * (needed by providers in multi-provider mode).
   */
  replication?: ReplicationOptions;
  /** Use these accounts instead of generating them (a consumer takes its provider's). */
  credentials?: Pick<ManagedSlapd, 'admin' | 'portal' | 'agent' | 'nss' | 'replicator'>;
}

export interface ReplicationOptions {
  serverId?: number;
  consumerOf?: SyncreplSource[];
  /** Multi-provider (mirror mode): this server also accepts writes while it follows `consumerOf`. */
  multiProvider?: boolean;
  /** Write the fixed tree at start (default: yes, except on a consumer). Only one provider of a topology bootstraps; the others get the tree by replication. */
  bootstrap?: boolean;
}

export interface SyncreplSource {
  /** Replica id, unique per consumer (1-999). */
  rid: number;
  url: string;
  /** The account the consumer reads the provider as: it must read every entry and attribute (the provider's replicator account). */
  bindDn: string;
  password: string;
  /**
   * TLS to the provider, required: its certificate is verified against this CA file and must name
   * the host of `url` in a subjectAltName (syncrepl's tls_cacert, tls_reqcert=demand,
   * tls_reqsan=demand); an ldap:// URL gets starttls=critical (never a session without TLS).
   */
  tls?: { caFile: string };
}

export interface Credentials {
  dn: string;
  password: string;
}

export type ManagedAccount = 'admin' | 'portal' | 'agent' | 'nss' | 'replicator';

export interface ManagedSlapd {
  readonly url: string;
  readonly port: number;
  readonly baseDn: string;
  readonly dir: string;
  readonly pid: number;
  /** rootdn of the database: bypasses ACLs; for bootstrap and tests only. */
  readonly admin: Credentials;
  /** cn=portal,ou=services: read/write on the tree. */
  readonly portal: Credentials;
  /** cn=mapper-agent,ou=services: read only, what the map and ingest need (see accessControl). */
  readonly agent: Credentials;
  /** cn=nss,ou=services: read only, the POSIX attributes of active people and their groups (docs/nss.md). */
  readonly nss: Credentials;
  /** cn=replicator,ou=services: read only, every entry and attribute; what syncrepl consumers read the provider as (docs/replication.md). */
  readonly replicator: Credentials;
  /** A new LdapConnection bound as one of the accounts. */
  connect(account: ManagedAccount, options?: Partial<LdapConnectionOptions>): LdapConnection;
  /** Everything slapd wrote to stderr so far (last 64 KiB). */
  stderr(): string;
  /** True while the process runs. */
  running(): boolean;
  /** SIGTERM, wait up to timeoutMs (default 5 s), then SIGKILL. Safe to call twice. */
  stop(timeoutMs?: number): Promise<void>;
}

interface StoredCredentials {
  baseDn: string;
  admin: Credentials;
  portal: Credentials;
  agent: Credentials;
  nss: Credentials;
  replicator: Credentials;
}

export function defaultSchemaDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // core/ldap/ in the sources, dist/core/ldap/ when built
  for (const up of ['../..', '../../..']) {
    const d = resolve(here, up, 'ldap-schema');
    if (existsSync(join(d, 'campaign-guard.schema'))) return d;
  }
  throw new ConfigError(`cannot find ldap-schema/campaign-guard.schema above ${here}`);
}

export async function startManagedSlapd(options: ManagedSlapdOptions): Promise<ManagedSlapd> {
  const log = options.log ?? createLogger('managed-slapd');
  const dir = resolve(options.dir);
  const baseDn = options.baseDn ?? DEFAULT_BASE_DN;
  const ranges = options.ranges ?? rangesConfigSchema.parse({});
  const schemaDir = options.schemaDir ?? defaultSchemaDir();
  if (!existsSync(SLAPD_BIN)) throw new ConfigError(`slapd not found at ${SLAPD_BIN}: run scripts/setup.sh (Debian package slapd)`);
  mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o700 });
  refuseIfRunning(dir);

  if (options.credentials) {
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify({ baseDn, ...options.credentials }, null, 2) + '\n', { mode: 0o600 });
  }
  const creds = loadOrCreateCredentials(dir, baseDn);
  const confPath = join(dir, 'slapd.conf');
  const replication = options.replication;
  const consumer = !!replication?.consumerOf?.length && !replication.multiProvider;
  writeFileSync(
    confPath,
    slapdConf({ dir, baseDn, schemaDir, admin: creds.admin, ...serviceDns(creds), ...(replication ? { replication } : {}) }),
    { mode: 0o600 },
  );
  chmodSync(confPath, 0o600);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freeLoopbackPort());
    try {
      const running = await launch({ dir, confPath, port, timeoutMs: options.startTimeoutMs ?? 15000, admin: creds.admin });
      const slapd = makeHandle(running, { dir, baseDn, port, creds });
      if (consumer || replication?.bootstrap === false) {
        log.info({ url: slapd.url, dir, pid: slapd.pid, providers: replication!.consumerOf!.map((c) => c.url) }, 'managed slapd consumer started');
        return slapd; // the tree comes from the provider
      }
      const admin = slapd.connect('admin');
      try {
        const added = await bootstrapTree(admin, baseDn, ranges, {
          portalPassword: creds.portal.password,
          agentPassword: creds.agent.password,
          nssPassword: creds.nss.password,
          replicatorPassword: creds.replicator.password,
        });
        if (added.length) log.info({ dir, added: added.length }, 'bootstrapped directory tree');
      } finally {
        await admin.close();
      }
      log.info({ url: slapd.url, dir, pid: slapd.pid }, 'managed slapd started');
      return slapd;
    } catch (err) {
      lastError = err;
      // Another process may have taken the port between our probe and slapd's bind: try another.
      if (options.port === undefined && err instanceof PortInUseError) continue;
      throw err;
    }
  }
  throw lastError;
}

class PortInUseError extends DirectoryUnavailableError {}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<void>;
}

async function launch(p: { dir: string; confPath: string; port: number; timeoutMs: number; admin: Credentials }): Promise<Running> {
  const url = `ldap://127.0.0.1:${p.port}/`;
  // -d keeps slapd in the foreground (no fork); level "none" (0x8000) prints only its
  // unconditional messages (config errors, fatal conditions) on stderr, which we keep.
  const child = spawn(SLAPD_BIN, ['-d', 'none', '-h', url, '-f', p.confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    buf = (buf + d).slice(-65536);
  });
  let exitInfo: string | undefined;
  const exited = new Promise<void>((res) => {
    child.once('exit', (code, signal) => {
      exitInfo = `exit code ${code ?? '-'}${signal ? `, signal ${signal}` : ''}`;
      res();
    });
    child.once('error', (err) => {
      exitInfo = `could not start: ${err.message}`;
      res();
    });
  });
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  exited.then(() => process.removeListener('exit', killOnExit));

  const deadline = Date.now() + p.timeoutMs;
  for (;;) {
    if (exitInfo !== undefined) {
      await new Promise((r) => setTimeout(r, 20)); // let the last stderr chunk arrive
      const msg = `slapd failed to start (${exitInfo}) on ${url} with ${p.confPath}:\n${buf.trim()}`;
      if (/Address already in use|errno=98/.test(buf)) throw new PortInUseError(msg);
      throw new DirectoryUnavailableError(msg);
    }
    if (await answers(url, p.admin)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new DirectoryUnavailableError(`slapd did not answer on ${url} within ${p.timeoutMs} ms:\n${buf.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stderr: () => buf, exited };
}

/** One bind as the rootdn: true when slapd accepts connections and our config is live. */
async function answers(url: string, admin: Credentials): Promise<boolean> {
  const client = new Client({ url, connectTimeout: 500, timeout: 1000 });
  try {
    await client.bind(admin.dn, admin.password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function makeHandle(running: Running, p: { dir: string; baseDn: string; port: number; creds: StoredCredentials }): ManagedSlapd {
  const url = `ldap://127.0.0.1:${p.port}`;
  let stopping: Promise<void> | undefined;
  let alive = true;
  running.exited.then(() => {
    alive = false;
  });
  return {
    url,
    port: p.port,
    baseDn: p.baseDn,
    dir: p.dir,
    pid: running.child.pid!,
    admin: p.creds.admin,
    portal: p.creds.portal,
    agent: p.creds.agent,
    nss: p.creds.nss,
    replicator: p.creds.replicator,
    connect(account, options = {}) {
      const c = p.creds[account];
      return new LdapConnection({ url, bindDn: c.dn, password: c.password, connectTimeoutMs: 2000, operationTimeoutMs: 10000, ...options });
    },
    stderr: running.stderr,
    running: () => alive,
    stop(timeoutMs = 5000) {
      stopping ??= (async () => {
        if (!alive) return;
        running.child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
        if ((await Promise.race([running.exited.then(() => 'exited' as const), timer])) === 'timeout') {
          running.child.kill('SIGKILL');
          await running.exited;
        }
      })();
      return stopping;
    },
  };
}

function loadOrCreateCredentials(dir: string, baseDn: string): StoredCredentials {
  const file = join(dir, 'credentials.json');
  const account = (name: string): Credentials => ({ dn: serviceDn(name, baseDn), password: randomPassword() });
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredCredentials> & Omit<StoredCredentials, 'nss' | 'replicator'>;
    if (stored.baseDn !== baseDn) {
      throw new ConfigError(`${dir} holds a directory for ${stored.baseDn}, not ${baseDn}: use another directory`);
    }
    if (stored.nss && stored.replicator) return stored as StoredCredentials;
    // A directory made before the NSS or the replicator account existed: add its credentials (the bootstrap adds the entry).
    const upgraded: StoredCredentials = {
      ...stored,
      nss: stored.nss ?? account(NSS_SERVICE),
      replicator: stored.replicator ?? account(REPLICATION_SERVICE),
    };
    writeFileSync(file, JSON.stringify(upgraded, null, 2) + '\n', { mode: 0o600 });
    return upgraded;
  }
  const creds: StoredCredentials = {
    baseDn,
    admin: { dn: `cn=admin,${baseDn}`, password: randomPassword() },
    portal: account(PORTAL_SERVICE),
    agent: account(AGENT_SERVICE),
    nss: account(NSS_SERVICE),
    replicator: account(REPLICATION_SERVICE),
  };
  writeFileSync(file, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  return creds;
}

/** A slapd left running on this directory (e.g. by a killed demo) would share the mdb files. */
function refuseIfRunning(dir: string): void {
  const pidFile = join(dir, 'slapd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running
  }
  if (cmdline.includes('slapd') && cmdline.includes(dir)) {
    throw new ConflictError(`a slapd (pid ${pid}) already runs on ${dir}; stop it first (kill ${pid})`);
  }
}

/** Ports handed out by freeLoopbackPort in this process: never handed out twice (two callers may not have bound theirs yet). */
const handedOut = new Set<number>();
/** The lowest port freeLoopbackPort picks from. */
const LOWEST_PICKED = 10000;

/**
 * A loopback port that is free now, for a server the caller starts next. It is picked below the
 * kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from listen(0) lies in that
 * range, where any outgoing connection or another listen(0) may take it before the caller binds
 * it (seen in the tests: EADDRINUSE for a portal whose port an LDAP client's connection had
 * taken). Only when nothing below the range is free after some tries does the kernel pick.
 * `random`: the picks (tests).
 */
export async function freeLoopbackPort(random: () => number = Math.random): Promise<number> {
  const low = ephemeralLow();
  for (let tries = 0; low - LOWEST_PICKED > 1000 && tries < 50; tries++) {
    const port = LOWEST_PICKED + Math.floor(random() * (low - LOWEST_PICKED));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  const port = await bindable(0);
  if (port === false) throw new Error('no free loopback port');
  handedOut.add(port);
  return port;
}

/** The first port of the kernel's ephemeral range (32768 when it cannot be read, Linux's default). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Listen on the port (0: the kernel picks) on 127.0.0.1 and close again: the port, or false when it is taken. */
function bindable(port: number): Promise<number | false> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === 'object' && addr ? addr.port : false));
    });
  });
}

/** Quote a value for slapd.conf (double quotes, backslash-escaped). */
function q(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The syncprov overlay, last in the database section: keeps the suffix's contextCSN current on
 * every write (the agent's change signal) and serves consumers (syncrepl). Needs `moduleload
 * syncprov` and `index entryCSN,entryUUID eq`; on every provider and, harmlessly, on consumers.
 */
export const SYNCPROV_CONF = `# syncprov keeps the suffix's contextCSN current on every write (the agent's change signal)
# and lets replicas follow with syncrepl.
overlay syncprov
syncprov-checkpoint 100 5
syncprov-sessionlog 1000
`;

/**
 * The replication lines of a database (docs/replication.md): one syncrepl per provider followed,
 * refreshAndPersist (changes are pushed as they happen), retrying every second forever, over TLS
 * with the provider's certificate verified when its CA is given, and in multi-provider mode
 * `multiprovider on`. This text is what the managed slapd runs and what
 * ldap-schema/replication/*.conf ship (a test keeps them equal).
 */
export function syncreplConf(baseDn: string, sources: SyncreplSource[], options: { multiProvider?: boolean } = {}): string {
  const lines = sources.map(
    (src) => `syncrepl rid=${String(src.rid).padStart(3, '0')}
  provider=${src.url}${tlsLines(src)}
  bindmethod=simple
  binddn=${q(src.bindDn)}
  credentials=${q(src.password)}
  searchbase=${q(baseDn)}
  scope=sub
  schemachecking=on
  type=refreshAndPersist
  retry="1 +"
  timeout=3
  network-timeout=3
  keepalive=30:3:5`,
  );
  if (options.multiProvider) lines.push('multiprovider on');
  return lines.join('\n') + '\n';
}

/** A syncrepl source's TLS parameters (SyncreplSource.tls), each on its own line after provider=; none without a CA. */
function tlsLines(src: SyncreplSource): string {
  if (!src.tls) return '';
  const lines = [...(/^ldap:/i.test(src.url) ? ['starttls=critical'] : []), `tls_cacert=${q(src.tls.caFile)}`, 'tls_reqcert=demand', 'tls_reqsan=demand'];
  return lines.map((l) => `\n  ${l}`).join('');
}

/** The service accounts' DNs, as the access rules name them. */
export interface ServiceDns {
  portalDn: string;
  agentDn: string;
  nssDn: string;
  replicatorDn: string;
}

function serviceDns(creds: StoredCredentials): ServiceDns {
  return { portalDn: creds.portal.dn, agentDn: creds.agent.dn, nssDn: creds.nss.dn, replicatorDn: creds.replicator.dn };
}

export function slapdConf(p: { dir: string; baseDn: string; schemaDir: string; admin: Credentials; replication?: ReplicationOptions } & ServiceDns): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis'].map((s) => join(SYSTEM_SCHEMA_DIR, `${s}.schema`));
  schemas.push(join(p.schemaDir, 'voperson.schema'), join(p.schemaDir, 'campaign-guard.schema'));
  return `# Generated by core/ldap/managed-slapd.ts at every start; edits are overwritten.
${schemas.map((s) => `include ${q(s)}`).join('\n')}

pidfile ${q(join(p.dir, 'slapd.pid'))}
argsfile ${q(join(p.dir, 'slapd.args'))}
modulepath ${SLAPD_MODULE_DIR}
moduleload back_mdb
moduleload syncprov

# No anonymous access: every operation needs a bound service account.
disallow bind_anon
require authc
loglevel none
# Many concurrent registrations write at once.
threads 8
${p.replication?.serverId !== undefined ? `serverID ${Math.trunc(p.replication.serverId)}\n` : ''}
database mdb
maxsize 1073741824
suffix ${q(p.baseDn)}
rootdn ${q(p.admin.dn)}
rootpw ${sshaHash(p.admin.password)}
directory ${q(join(p.dir, 'data'))}

# What the directory code searches by.
index objectClass eq
index uid,cn,mail eq,sub
index uidNumber,gidNumber,memberUid eq
index cgIdentityKey,cgOwner,cgCertSubject,cgCertSubjectForm,cgOidcSubject,cgPendingIdentityKey eq
index cgPrincipalInvestigator,cgCampaign,cgRequester,cgRequestState eq
index entryCSN,entryUUID eq
${p.replication?.consumerOf?.length ? `\n# Replication (docs/replication.md)\n${syncreplConf(p.baseDn, p.replication.consumerOf, { multiProvider: p.replication.multiProvider })}` : ''}
${accessControl(p)}
${SYNCPROV_CONF}
# The server's clock for the agent's clock check before embargo decisions (cn=Current,cn=Time,cn=Monitor).
database monitor
access to dn.subtree="cn=Monitor"
  by dn.exact=${q(p.agentDn)} read
  by * none
`;
}

/** What NSS clients (nslcd, sssd) may read of a person: posixAccount's attributes, nothing else. */
export const NSS_PERSON_ATTRIBUTES = ['entry', 'objectClass', 'uid', 'uidNumber', 'gidNumber', 'cn', 'gecos', 'homeDirectory', 'loginShell'] as const;
/** What NSS clients may read of a private group or a campaign: posixGroup's attributes. */
export const NSS_GROUP_ATTRIBUTES = ['entry', 'objectClass', 'cn', 'gidNumber', 'memberUid'] as const;
/**
 * What the mapper agent reads besides the NSS attributes: a person's status (the map drops
 * suspended people) and mail (embargo notices to a campaign's PI, mapper-agent/ingest/campaign-cache.ts).
 */
export const AGENT_PERSON_ATTRIBUTES = [...NSS_PERSON_ATTRIBUTES, 'voPersonStatus', 'mail'] as const;
/** What the map reads of an identity (mapper-agent/map/directory-reader.ts); not cgCertIssuer, not cgIdentityKey. */
export const AGENT_IDENTITY_ATTRIBUTES = [
  'entry', 'objectClass', 'cgIdentityType', 'cgOwner', 'voPersonStatus', 'cgCertSubject', 'cgCertSubjectForm', 'cgCertNotAfter', 'cgOidcIssuer', 'cgOidcSubject',
] as const;

/**
 * A DN as slapd normalises it for dn.regex (lower case, no spaces around , and =), quoted for a
 * POSIX extended regex inside an ACL (where $ is written $$).
 */
function dnRegex(dn: string): string {
  const norm = dn.trim().replace(/\s*([,=])\s*/g, '$1').replace(/\s+/g, ' ').toLowerCase();
  return norm.replace(/[.*+?^{}()|[\]\\]/g, '\\$&').replace(/\$/g, '\\$$$$');
}

/**
 * The access rules of the directory's database, slapd.conf form (the managed slapd uses them;
 * ldap-schema/access.conf is the same for the default base DN, for a site's own slapd).
 * slapd applies the FIRST `access to` whose <what> matches and, in it, the first matching `by`
 * (implicitly followed by `by * none`), so the order is the policy:
 *   0. the replicator reads everything (syncrepl copies the whole tree, passwords included); for
 *      everybody else `break` goes on to the rules below, as if this one were not there.
 *   1. userPassword: authentication only, for everybody.
 *   2. ou=services: the portal reads, nobody else.
 *   3. the whole tree: the portal writes; for everybody else `break` goes on to the rules below.
 *   4. what the agent and the NSS account may read, narrowest first; anything not named is `none`.
 * Suspended people leave NSS on the server: a person's entry is visible to the NSS account only
 * while voPersonStatus=active (filter in <what>), a private group only while its owner is active,
 * and a memberUid value only while the person it names is active (a set evaluated per value).
 */
export function accessControl(p: { baseDn: string } & ServiceDns): string {
  const people = `ou=people,${p.baseDn}`;
  const groups = `ou=groups,${p.baseDn}`;
  const campaigns = `ou=campaigns,${p.baseDn}`;
  const identities = `ou=identities,${p.baseDn}`;
  const services = `ou=services,${p.baseDn}`;
  const agent = `dn.exact=${q(p.agentDn)}`;
  const nss = `dn.exact=${q(p.nssDn)}`;
  const list = (attrs: readonly string[]) => attrs.join(',');
  // A person named by a value or an RDN, and active: a set over that person's voPersonStatus.
  const activePerson = (name: string) => `set.expand=${q(`[uid=${name},${people}]/voPersonStatus & [active]`)}`;
  const memberUidRules = (ou: string) => `access to dn.one=${q(ou)} attrs=memberUid val.regex="^([a-z][a-z0-9._-]{0,31})$$"
  by ${agent} read
  by ${nss} ${activePerson('${v1}')} read
  by * none
access to dn.one=${q(ou)} attrs=memberUid val.regex="."
  by ${agent} read
  by * none`;
  return `# Service accounts may read everything they are allowed to in one search (the agent's full scan,
# NSS enumeration by nslcd/sssd).
limits dn.exact=${q(p.portalDn)} size=unlimited time=unlimited
limits dn.exact=${q(p.agentDn)} size=unlimited time=unlimited
limits dn.exact=${q(p.nssDn)} size=unlimited time=unlimited
limits dn.exact=${q(p.replicatorDn)} size=unlimited time=unlimited

# Access rules: the FIRST matching "access to" applies, and in it the first matching "by"
# (then an implicit "by * none"). Order matters; see accessControl() in core/ldap/managed-slapd.ts.

# 0. Replication: syncrepl consumers read the provider as the replicator, which must read every
#    entry and attribute (OpenLDAP Administrator's Guide, Replication: "the replication user needs
#    unrestricted read access to the database and as such this tends to be the first access rule").
#    Everybody else goes on to the rules below.
access to *
  by dn.exact=${q(p.replicatorDn)} read
  by * break

# 1. Passwords: only usable to authenticate, never readable.
access to attrs=userPassword
  by anonymous auth
  by * none
# 2. Service accounts: the portal reads them, nobody but the rootdn changes them.
access to dn.subtree=${q(services)}
  by dn.exact=${q(p.portalDn)} read
  by * none
# 3. The portal writes the whole tree; everybody else goes on to the rules below.
access to dn.subtree=${q(p.baseDn)}
  by dn.exact=${q(p.portalDn)} write
  by * break

# 4. Suffix: the agent's change signal (contextCSN, kept by syncprov); the entry itself for NSS
#    too, so that a client may search from the suffix (it finds only what the rules below show).
access to dn.base=${q(p.baseDn)} attrs=contextCSN
  by ${agent} read
  by * none
access to dn.base=${q(p.baseDn)} attrs=entry,objectClass
  by ${agent} read
  by ${nss} read
  by * none
# 5. The organisational units the agent and NSS search under.
access to dn.base=${q(people)} attrs=entry,objectClass,ou
  by ${agent} read
  by ${nss} read
  by * none
access to dn.base=${q(groups)} attrs=entry,objectClass,ou
  by ${agent} read
  by ${nss} read
  by * none
access to dn.base=${q(campaigns)} attrs=entry,objectClass,ou
  by ${agent} read
  by ${nss} read
  by * none
access to dn.base=${q(identities)} attrs=entry,objectClass,ou
  by ${agent} read
  by * none
# 6. People. NSS sees the POSIX attributes of active people only: a suspended person (or one
#    without voPersonStatus) is not there for nslcd/sssd, and is back as soon as reactivated.
access to dn.one=${q(people)} filter=(voPersonStatus=active) attrs=${list(NSS_PERSON_ATTRIBUTES)}
  by ${agent} read
  by ${nss} read
  by * none
#    The agent also sees suspended people (the map drops them), their status and mail (PI notices).
access to dn.one=${q(people)} attrs=${list(AGENT_PERSON_ATTRIBUTES)}
  by ${agent} read
  by * none
# 7. Private groups: NSS sees one only while its owner (cn = username) is active.
access to dn.regex=${q(`^cn=([^,]+),${dnRegex(groups)}$$`)} attrs=${list(NSS_GROUP_ATTRIBUTES.filter((a) => a !== 'memberUid'))}
  by ${agent} read
  by ${nss} ${activePerson('$1')} read
  by * none
# 8. memberUid of private groups and campaigns, value by value: NSS sees a member only while
#    that person is active (a value that is not a username: the agent only).
${memberUidRules(groups)}
${memberUidRules(campaigns)}
access to dn.one=${q(groups)} attrs=memberUid
  by ${agent} read
  by ${nss} read
  by * none
# 9. Campaigns: NSS sees the posixGroup; the agent also the PI, embargo end, state, description.
access to dn.one=${q(campaigns)} attrs=${list(NSS_GROUP_ATTRIBUTES)}
  by ${agent} read
  by ${nss} read
  by * none
access to dn.one=${q(campaigns)}
  by ${agent} read
  by * none
# 10. Identities: the agent reads what the map needs; NSS nothing.
access to dn.one=${q(identities)} attrs=${list(AGENT_IDENTITY_ATTRIBUTES)}
  by ${agent} read
  by * none
# 11. Everything else (other attributes, requests, allocation, tombstones): nobody but the portal.
access to *
  by * none
`;
}

/**
 * A managed slapd another process started on `dir` and that is still running (the demo portal's),
 * with its URL (from slapd's own args file) and stored credentials; undefined when none runs.
 */
export function findRunningSlapd(dir: string): { url: string; credentials: StoredCredentials } | undefined {
  const abs = resolve(dir);
  try {
    const pid = Number(readFileSync(join(abs, 'slapd.pid'), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('slapd') || !cmdline.includes(abs)) return undefined;
    const url = /ldap:\/\/127\.0\.0\.1:\d+\//.exec(readFileSync(join(abs, 'slapd.args'), 'utf8'))?.[0];
    if (!url) return undefined;
    return { url, credentials: JSON.parse(readFileSync(join(abs, 'credentials.json'), 'utf8')) as StoredCredentials };
  } catch {
    return undefined;
  }
}

/**
 * The replication snippets shipped in ldap-schema/replication/ (slapd.conf form), built from the
 * same functions the managed slapd runs (test/core/ldap/replication-config.test.ts keeps the files
 * equal to this). `provider`: one server of the topology that takes writes; `consumer`: a
 * read-only replica following it.
 */
export function replicationExample(kind: 'provider' | 'consumer', baseDn = DEFAULT_BASE_DN): string {
  const head = `# campaign-guard replication, ${kind} (slapd.conf form); docs/replication.md explains every line.
# Generated from core/ldap/managed-slapd.ts replicationExample('${kind}'): the managed slapd runs the same text.
#
# Global section (with the schema includes of ldap-schema/README.md):
moduleload back_mdb
moduleload syncprov
`;
  const db = `#
# Database section of ${baseDn}: the indexes and access rules of the managed slapd
# (ldap-schema/access.conf), then:
index entryCSN,entryUUID eq
`;
  if (kind === 'provider') return `${head}serverID 1\n${db}${SYNCPROV_CONF}`;
  const provider = { rid: 1, url: 'ldaps://provider.example.org', tls: { caFile: '/etc/ldap/tls/provider-ca.pem' }, bindDn: serviceDn(REPLICATION_SERVICE, baseDn), password: 'the-replicator-password' };
  return `${head}${db}${syncreplConf(baseDn, [provider])}${SYNCPROV_CONF}`;
}
