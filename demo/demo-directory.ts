/**
 * Demo data for `npm run demo`: one PI, one user, one campaign under embargo, one public
 * campaign. Idempotent: what exists is left alone, so a restart on var/slapd changes nothing.
 */
import type { Directory } from '../core/directory/directory.js';
import type { Campaign, Person } from '../core/directory/model.js';

export const DEMO = {
  pi: { username: 'pat', cn: 'Pat Investigator', givenName: 'Pat', mail: 'pat@example.org' },
  user: { username: 'alice', cn: 'Alice Smith', givenName: 'Alice', mail: 'alice@example.org' },
  embargoed: { name: 'deep-field', description: 'Deep field survey (under embargo)' },
  public: { name: 'sky-atlas', description: 'Public sky atlas' },
  /** Embargo length for the embargoed campaign, from the first seeding. */
  embargoDays: 365,
} as const;

export interface DemoData {
  pi: Person;
  user: Person;
  embargoed: Campaign;
  public: Campaign;
}

export async function seedDemoDirectory(dir: Directory, now = new Date()): Promise<DemoData> {
  const pi = (await dir.people.get(DEMO.pi.username)) ?? (await dir.people.create({ ...DEMO.pi, roles: ['admin'] }));
  const user = (await dir.people.get(DEMO.user.username)) ?? (await dir.people.create({ ...DEMO.user }));
  const embargoed =
    (await dir.campaigns.get(DEMO.embargoed.name)) ??
    (await dir.campaigns.create({
      name: DEMO.embargoed.name,
      pi: pi.username,
      description: DEMO.embargoed.description,
      embargoEnd: new Date(now.getTime() + DEMO.embargoDays * 86400_000),
    }));
  const pub =
    (await dir.campaigns.get(DEMO.public.name)) ??
    (await dir.campaigns.create({ name: DEMO.public.name, pi: pi.username, description: DEMO.public.description }));
  if (!pub.members.includes(user.username)) await dir.campaigns.addMember(pub.name, user.username);
  return { pi, user, embargoed, public: (await dir.campaigns.get(pub.name))! };
}
