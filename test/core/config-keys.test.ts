import { expect } from 'chai';
import { z } from 'zod';
import { closest, editDistance, knownKeys, unknownKeyIssues } from '../../core/config-keys.js';
import { envBoolean, envList } from '../../core/config.js';

const schema = z.object({
  ldap: z.object({ bindDn: z.string(), url: z.string().optional() }).prefault({ bindDn: 'x' }),
  agent: z.object({
    dryRun: envBoolean.default(false),
    roots: envList(z.string()).default([]),
    aliases: z.record(z.string(), z.object({ alias: z.string() })).default({}),
    providers: z.array(z.object({ id: z.string() })).default([]),
  }).superRefine(() => undefined),
});

describe('core/config-keys', () => {
  it('measures edit distance and suggests only near keys, case-insensitively', () => {
    expect(editDistance('kitten', 'sitting')).to.equal(3);
    expect(editDistance('', 'abc')).to.equal(3);
    expect(closest('bindDN', ['bindDn', 'url'])).to.equal('bindDn');
    expect(closest('fullSyncShedule', ['fullSyncSchedule', 'pageSize'])).to.equal('fullSyncSchedule');
    expect(closest('zzzzzz', ['bindDn', 'url'])).to.equal(undefined);
  });

  it('finds unknown keys at every depth, through defaults, refinements, records and arrays', () => {
    const issues = unknownKeyIssues(schema, {
      ldap: { bindDN: 'x' },
      agent: { dryrun: true, aliases: { a: { alais: 'x' } }, providers: [{ id: 'a' }, { idd: 'b' }] },
      extra: 1,
    });
    expect(issues).to.deep.equal([
      { path: 'ldap.bindDN', message: 'unknown key "bindDN"; did you mean "bindDn"?' },
      { path: 'agent.dryrun', message: 'unknown key "dryrun"; did you mean "dryRun"?' },
      { path: 'agent.aliases.a.alais', message: 'unknown key "alais"; did you mean "alias"?' },
      { path: 'agent.providers.1.idd', message: 'unknown key "idd"; did you mean "id"?' },
      { path: 'extra', message: 'unknown key "extra"; known keys: ldap, agent' },
    ]);
    expect(unknownKeyIssues(schema, { ldap: { bindDn: 'x' } })).to.deep.equal([]);
    expect(knownKeys(schema)).to.deep.equal(['ldap', 'agent']);
    expect(knownKeys(z.string())).to.equal(undefined);
  });
});
