/**
 * Optional policy (portal.mail.flagUnseenMonths, default off): identities not seen for N months
 * (neither a login nor a binding in the audit trail) are flagged to their owner and to the admins,
 * once per identity and last-seen time. Nothing is removed here: the map keeps every active
 * identity (a certificate's expiry is no reason either); removal stays an admin's decision.
 */
import { describeIdentity, identityRef } from '../../core/directory/index.js';
import type { ServiceContext } from './context.js';
import type { Notifier } from './notifications.js';

export interface SeenRecord {
  action: string;
  target: string;
  at: string;
}

/** The latest login or binding per identity (as audit targets name them), in one pass. */
export function lastSeen(records: Iterable<SeenRecord>): Map<string, Date> {
  const seen = new Map<string, Date>();
  for (const r of records) {
    if (r.action !== 'account.login' && r.action !== 'identity.bind') continue;
    const at = new Date(r.at);
    const prev = seen.get(r.target);
    if (!prev || prev < at) seen.set(r.target, at);
  }
  return seen;
}

/** Flag identities unseen for `months`; returns the identities flagged in this run. */
export async function flagUnseenIdentities(ctx: ServiceContext, notifier: Notifier, records: Iterable<SeenRecord>, months: number, now = new Date()): Promise<string[]> {
  if (months <= 0) return [];
  const seen = lastSeen(records);
  const cutoff = new Date(now);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
  const flagged: { owner: string; what: string; last: string }[] = [];
  for await (const page of ctx.directory.people.all()) {
    for (const person of page) {
      if (person.status !== 'active') continue;
      for (const identity of await ctx.directory.identities.listForPerson(person.username)) {
        if (identity.status !== 'active') continue;
        const what = describeIdentity(identityRef(identity));
        const last = seen.get(what);
        if (!last || last >= cutoff) continue; // never seen in this trail: nothing to go by
        const key = `${identity.key} ${last.toISOString()}`;
        if (notifier.wasSent('unseen-identity', key)) continue;
        await notifier.toPerson(person.username, {
          subject: `Not used for ${months} months: ${what.slice(0, 80)}`,
          text: `The identity\n  ${what}\nhas not been used to log in to the portal since ${last.toISOString().slice(0, 10)}.\n` +
            'It still maps to your storage account. If you no longer use it, remove it from your account page; if you do, nothing needs doing ' +
            '(logging in to the portal with it marks it as seen). The administrators were told too.\n',
          why: `the identity is bound to your storage account ${person.username}`,
          path: '/account',
        });
        notifier.recordSent('unseen-identity', key);
        flagged.push({ owner: person.username, what, last: last.toISOString().slice(0, 10) });
      }
    }
  }
  if (flagged.length) {
    const lines = flagged.map((f) => `  ${f.owner}: ${f.what} (last seen ${f.last})`).join('\n');
    for await (const page of ctx.directory.people.all()) {
      for (const admin of page.filter((p) => p.roles.includes('admin') && p.status === 'active')) {
        await notifier.toPerson(admin.username, {
          subject: `${flagged.length} ${flagged.length === 1 ? 'identity' : 'identities'} not used for ${months} months`,
          text: `These identities have not been used to log in for ${months} months; their owners were told. Nothing was removed.\n\n${lines}\n`,
          why: 'you are an administrator of the campaign-guard portal',
          path: '/admin/users',
        });
      }
    }
  }
  return flagged.map((f) => f.what);
}
