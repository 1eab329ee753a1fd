/**
 * Every YAML configuration block of README.md and docs/*.md is one the programs accept: merged over
 * the deployed example configuration (deploy/agent-ingest.yaml for the agent, deploy/portal.yaml for
 * the portal), it passes the same validation as a configuration file (strict schemas: a misspelt
 * key, a wrong type or a value out of range is refused, each program ignoring the others' sections).
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepMerge, loadConfig } from '../../core/config.js';
import { agentConfigSchema } from '../../mapper-agent/config.js';
import { portalConfigSchema } from '../../server/config.js';

const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
const ROOT = new URL('../../', import.meta.url);
const DOCS = ['README.md', ...readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const PROGRAMS = [
  { name: 'agent', schema: agentConfigSchema, base: 'deploy/agent-ingest.yaml' },
  { name: 'portal', schema: portalConfigSchema, base: 'deploy/portal.yaml' },
] as const;

describe('the configuration blocks of the README and docs/ are valid configuration', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-doc-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const blocks = DOCS.flatMap((doc) => [...readFileSync(new URL(doc, ROOT), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => ({ doc, i, text: m[1]! })));

  it('finds the blocks (README, ingest, replication, traces, compliance)', () => {
    expect(new Set(blocks.map((b) => b.doc))).to.include.members(['README.md', 'docs/ingest.md', 'docs/replication.md', 'docs/traces.md', 'docs/compliance.md']);
  });

  for (const { doc, i, text } of blocks) {
    it(`${doc}, YAML block ${i + 1}`, () => {
      const block = yaml.parse(text) as Record<string, unknown>;
      for (const { name, schema, base } of PROGRAMS) {
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(deepMerge(yaml.parse(readFileSync(new URL(base, ROOT), 'utf8')), block)));
        expect(() => loadConfig(schema, { file, env: {} }), `${doc} block ${i + 1} as the ${name}'s configuration`).to.not.throw();
      }
    });
  }

  it('refuses a block with a misspelt key (the check can fail)', () => {
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify(deepMerge(yaml.parse(readFileSync(new URL('deploy/agent-ingest.yaml', ROOT), 'utf8')), { agent: { ingest: { noticeDay: 3 } } })));
    expect(() => loadConfig(agentConfigSchema, { file, env: {} })).to.throw(/noticeDay/);
  });
});
