import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { envBoolean, envList, envToObject, loadConfig, readConfigFile } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

const schema = z.object({
  ldap: z.object({ url: z.string().url(), bindDn: z.string().min(1), timeoutMs: z.coerce.number().int().positive().default(5000) }),
  agent: z.object({ dryRun: envBoolean.default(false), roots: envList(z.string()).default([]) }).default({ dryRun: false, roots: [] }),
});

describe('core/config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-config-'));

  it('maps CG_SECTION__SNAKE_KEY environment names to camelCase paths', () => {
    expect(envToObject({ CG_LDAP__BIND_DN: 'cn=x', CG_AGENT__DRY_RUN: '1', OTHER: 'y' })).to.deep.equal({
      ldap: { bindDn: 'cn=x' },
      agent: { dryRun: '1' },
    });
  });

  it('merges a YAML file with environment overrides and coerces types', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'ldap:\n  url: ldap://127.0.0.1:389\n  bindDn: cn=file\n  timeoutMs: 100\n');
    const cfg = loadConfig(schema, { file, env: { CG_LDAP__BIND_DN: 'cn=env', CG_AGENT__ROOTS: '/a, /b', CG_AGENT__DRY_RUN: 'yes' } });
    expect(cfg.ldap).to.deep.equal({ url: 'ldap://127.0.0.1:389', bindDn: 'cn=env', timeoutMs: 100 });
    expect(cfg.agent).to.deep.equal({ dryRun: true, roots: ['/a', '/b'] });
  });

  it('lists every problem in one ConfigError', () => {
    expect(() => loadConfig(schema, { env: { CG_LDAP__URL: 'not a url', CG_AGENT__DRY_RUN: 'maybe' } }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/ldap\.url/)
      .and.matches(/ldap\.bindDn/)
      .and.matches(/agent\.dryRun/);
  });

  it('names the file when it cannot be read or parsed', () => {
    expect(() => loadConfig(schema, { file: join(dir, 'missing.yaml'), env: {} })).to.throw(ConfigError, /missing\.yaml/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'ldap: [unclosed');
    expect(() => loadConfig(schema, { file: bad, env: {} })).to.throw(ConfigError, /not valid YAML/);
    const scalar = join(dir, 'scalar.yaml');
    writeFileSync(scalar, '42');
    expect(() => loadConfig(schema, { file: scalar, env: {} })).to.throw(ConfigError, /mapping/);
  });

  it('reads a JSON file (YAML is a superset), and refuses a key given twice', () => {
    const json = join(dir, 'agent.json');
    writeFileSync(json, JSON.stringify({ ldap: { url: 'ldap://x', bindDn: 'cn=a', password: 'p' } }, null, 2));
    expect(readConfigFile(json)).to.deep.equal({ ldap: { url: 'ldap://x', bindDn: 'cn=a', password: 'p' } });
    const twice = join(dir, 'twice.json');
    writeFileSync(twice, '{"ldap": {"url": "ldap://a", "url": "ldap://b"}}');
    expect(() => readConfigFile(twice)).to.throw(ConfigError, /not valid YAML\/JSON.*unique/s);
    // a key that repeats only across objects, or inside strings, is no repetition
    const apart = join(dir, 'apart.json');
    writeFileSync(apart, '{"a": {"url": "x"}, "b": {"url": "x, \\"url\\": y"}, "c": [{"url": 1}, {"url": 2}]}');
    expect(readConfigFile(apart)).to.deep.equal({ a: { url: 'x' }, b: { url: 'x, "url": y' }, c: [{ url: 1 }, { url: 2 }] });
  });

  it('refuses unknown keys naming the closest known one, and skips the other program\'s section', () => {
    expect(() => loadConfig(schema, { env: { CG_LDAP__URL: 'ldap://h', CG_LDAP__BIND_D: 'x' } }))
      .to.throw(ConfigError, /ldap\.bindD: unknown key "bindD"; did you mean "bindDn"\?/);
    const file = join(dir, 'both.yaml');
    writeFileSync(file, 'ldap:\n  url: ldap://h\n  bindDn: cn=x\nportal:\n  port: 1\n');
    expect(loadConfig(schema, { file, env: {} }).ldap.bindDn).to.equal('cn=x');
    writeFileSync(file, 'ldap:\n  url: ldap://h\n  bindDn: cn=x\nportl:\n  port: 1\n');
    const err = (() => {
      try {
        loadConfig(schema, { file, env: {} });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).to.be.instanceOf(ConfigError);
    expect(err!.issues).to.deep.include({ path: 'portl', message: 'unknown key "portl"; known keys: ldap, agent' });
  });

  it('reads only CG_<SECTION>__<KEY> names from the environment', () => {
    expect(envToObject({ CG_KEEP_SLAPD: '1', CG_CONFIG: 'x', CG_LOG_LEVEL: 'info', CG_LDAP__URL: 'u' })).to.deep.equal({ ldap: { url: 'u' } });
  });
});

describe('core/config: lists and maps from the environment', () => {
  it('reads a list as comma-separated or JSON, and a map as JSON', async () => {
    const { agentConfigSchema } = await import('../../mapper-agent/config.js');
    const cfg = loadConfig(agentConfigSchema, {
      env: {
        CG_AGENT__INGEST__ROOTS: '/pnfs/a, /pnfs/b',
        CG_AGENT__INGEST__PUBLIC_AREAS: '["/pnfs/a/public"]',
        CG_AGENT__OIDC_ALIASES: '{"https://iam.example.org/":"iam"}',
      },
    });
    expect(cfg.agent.ingest.roots).to.deep.equal(['/pnfs/a', '/pnfs/b']);
    expect(cfg.agent.ingest.publicAreas).to.deep.equal(['/pnfs/a/public']);
    expect(cfg.agent.oidcAliases).to.deep.equal({ 'https://iam.example.org/': 'iam' });
  });
});
