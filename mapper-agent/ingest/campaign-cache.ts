/**
 * Campaign facts for ingest and embargo lifting (PI uidNumber, group gid, embargo end), read from
 * LDAP with the agent's read-only account and cached; `refresh()` re-reads only when the
 * directory's contextCSN changed, so the daemon can call it before every batch for one tiny read.
 */
import { Directory } from '../../core/directory/directory.js';
import { readContextCsn } from '../../core/directory/change-signal.js';
import { rangesConfigSchema } from '../../core/ldap/config.js';
import type { LdapConnection } from '../../core/ldap/connection.js';
import type { CampaignFacts } from '../../core/embargo/policy.js';

export class CampaignCache {
  private facts = new Map<string, CampaignFacts>();
  private csn: string | undefined;
  private readonly directory: Directory;

  constructor(private readonly ldap: LdapConnection, private readonly baseDn: string) {
    // Read-only use: the allocator is never called with the agent's account.
    this.directory = new Directory({ ldap, baseDn, ranges: rangesConfigSchema.parse({}) });
  }

  /** Re-read the campaigns when the directory changed since the last read. Returns whether it re-read. */
  async refresh(): Promise<boolean> {
    const csn = await readContextCsn(this.ldap, this.baseDn);
    if (csn === this.csn) return false;
    const next = new Map<string, CampaignFacts>();
    const campaigns = await this.directory.campaigns.list();
    // The PIs read concurrently (one read per distinct PI; the connection caps the operations in flight).
    const pis = new Map<string, ReturnType<Directory['people']['getByDn']>>();
    for (const c of campaigns) if (!pis.has(c.piDn)) pis.set(c.piDn, this.directory.people.getByDn(c.piDn));
    await Promise.all(pis.values());
    for (const c of campaigns) {
      const pi = await pis.get(c.piDn)!;
      next.set(c.name, { name: c.name, gid: c.gidNumber, ...(pi && pi.status === 'active' ? { piUid: pi.uidNumber } : {}), ...(c.embargoEnd ? { embargoEnd: c.embargoEnd } : {}), ...(c.proprietaryDays ? { proprietaryDays: c.proprietaryDays } : {}) });
    }
    this.facts = next;
    this.csn = csn;
    return true;
  }

  get(name: string): CampaignFacts | undefined {
    return this.facts.get(name);
  }

  all(): CampaignFacts[] {
    return [...this.facts.values()];
  }

  /** The PI's e-mail address, for embargo notices. */
  async piMail(name: string): Promise<string | undefined> {
    const c = await this.directory.campaigns.get(name);
    return c ? (await this.directory.people.getByDn(c.piDn))?.mail : undefined;
  }
}
