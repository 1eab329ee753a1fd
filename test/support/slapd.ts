/**
 * Mocha fixture: a real slapd (managed-slapd) with fresh data for one describe block.
 *
 *   describe('something', function () {
 *     const dir = useManagedSlapd();            // registers before/after hooks
 *     it('...', async () => {
 *       await dir.portal.search(dir.slapd.baseDn, { ... });
 *     });
 *   });
 *
 * Call it once per test file at the top-level describe (one slapd per file keeps the run fast).
 * The connections are created in `before` and closed, the slapd stopped and its directory
 * removed in `after` (kept when CG_KEEP_SLAPD=1, for debugging).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RangesConfig } from '../../core/ldap/config.js';
import type { LdapConnection } from '../../core/ldap/connection.js';
import { startManagedSlapd, type ManagedSlapd } from '../../core/ldap/managed-slapd.js';

export interface SlapdFixture {
  /** The running slapd (url, baseDn, credentials, stop()). */
  readonly slapd: ManagedSlapd;
  /** Bound as cn=portal,ou=services (read/write). */
  readonly portal: LdapConnection;
  /** Bound as cn=mapper-agent,ou=services (read only). */
  readonly agent: LdapConnection;
  /** Bound as cn=nss,ou=services (read only: POSIX attributes of active people and their groups). */
  readonly nss: LdapConnection;
  /** Bound as the rootdn (bypasses ACLs): for test set-up and inspection only. */
  readonly admin: LdapConnection;
  /** Temp directory holding slapd's config and data. */
  readonly dir: string;
}

export function useManagedSlapd(options: { ranges?: RangesConfig; baseDn?: string } = {}): SlapdFixture {
  let state: { slapd: ManagedSlapd; portal: LdapConnection; agent: LdapConnection; nss: LdapConnection; admin: LdapConnection; dir: string } | undefined;
  const get = () => {
    if (!state) throw new Error('useManagedSlapd: slapd not started (use it inside describe, read it inside it/before)');
    return state;
  };

  before(async function () {
    this.timeout(20000);
    const dir = mkdtempSync(join(tmpdir(), 'cg-slapd-'));
    const slapd = await startManagedSlapd({ dir, ranges: options.ranges, baseDn: options.baseDn });
    state = { slapd, dir, portal: slapd.connect('portal'), agent: slapd.connect('agent'), nss: slapd.connect('nss'), admin: slapd.connect('admin') };
  });

  after(async function () {
    this.timeout(10000);
    if (!state) return;
    await Promise.all([state.portal.close(), state.agent.close(), state.nss.close(), state.admin.close()]);
    await state.slapd.stop();
    if (process.env.CG_KEEP_SLAPD !== '1') rmSync(state.dir, { recursive: true, force: true });
    state = undefined;
  });

  return {
    get slapd() {
      return get().slapd;
    },
    get portal() {
      return get().portal;
    },
    get agent() {
      return get().agent;
    },
    get nss() {
      return get().nss;
    },
    get admin() {
      return get().admin;
    },
    get dir() {
      return get().dir;
    },
  };
}
