import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor } from '../../mapper-agent/cli.js';
import { EXIT } from '../../mapper-agent/exit-codes.js';
import { ShrinkRefusedError } from '../../mapper-agent/map/atomic-write.js';
import { ClockRefusedError } from '../../mapper-agent/clock.js';
import { ConfigError, DirectoryUnavailableError, ValidationError } from '../../core/errors.js';
import { Directory } from '../../core/directory/index.js';
import { rangesConfigSchema } from '../../core/ldap/config.js';
import { fitsFile } from '../support/fits.js';
import { ownershipOf } from '../support/ownership.js';
import { useManagedSlapd } from '../support/slapd.js';

/** The agent's command line, run as its own process (through tsx, as `npm run mapper-agent` does). */
function agent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'mapper-agent/cli.ts', ...args], { env: { ...process.env, CG_LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('mapper-agent CLI', () => {
  it('exits 2 on a safety refusal (map shrink, clock), 3 when the directory is unavailable, 4 on configuration, 1 otherwise', () => {
    expect(exitCodeFor(new ShrinkRefusedError(100, 10, 0.1))).to.equal(EXIT.REFUSED);
    expect(exitCodeFor(new ClockRefusedError('clock ahead'))).to.equal(EXIT.REFUSED);
    expect(exitCodeFor(new DirectoryUnavailableError('down'))).to.equal(EXIT.DIRECTORY_UNAVAILABLE);
    expect(exitCodeFor(new ConfigError('bad'))).to.equal(EXIT.CONFIG);
    expect(exitCodeFor(new ValidationError('bad value'))).to.equal(EXIT.ERROR);
    expect(exitCodeFor(new Error('boom'))).to.equal(EXIT.ERROR);
    // a refusal is ours: another error carrying the same code is not one
    expect(exitCodeFor(Object.assign(new Error('x'), { code: 'ERR_SHRINK_REFUSED' }))).to.equal(EXIT.ERROR);
  });

  describe('as a process (real slapd, as root)', function () {
    this.timeout(120_000);
    const fx = useManagedSlapd();
    let base: string;
    let root: string;
    let json: string;
    let yaml: string;

    before(async function () {
      if (process.getuid?.() !== 0) this.skip();
      base = mkdtempSync(join(tmpdir(), 'cg-cli-'));
      root = join(base, 'data');
      mkdirSync(join(root, 'empty'), { recursive: true });
      mkdirSync(join(root, 'obs'), { recursive: true });
      const dir = new Directory({ ldap: fx.portal, baseDn: fx.slapd.baseDn, ranges: rangesConfigSchema.parse({}) });
      await dir.people.create({ username: 'pia', displayName: 'Pia', mail: 'pia@example.org' });
      await dir.campaigns.create({ name: 'cli', pi: 'pia', embargoEnd: new Date('2031-01-01T00:00:00Z') });
      const ldap = { url: fx.slapd.url, bindDn: fx.slapd.agent.dn, password: fx.slapd.agent.password, baseDn: fx.slapd.baseDn };
      json = join(base, 'agent.json');
      writeFileSync(json, JSON.stringify({ ldap, agent: { stateDir: join(base, 'state'), ingest: { roots: [root], noticeDays: 0 } } }, null, 2));
      yaml = join(base, 'agent.yaml');
      writeFileSync(yaml, [
        'ldap:',
        ...Object.entries(ldap).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
        'agent:',
        `  stateDir: ${JSON.stringify(join(base, 'state-yaml'))}`,
        `  ingest: { roots: [${JSON.stringify(root)}], noticeDays: 0 }`,
        '',
      ].join('\n'));
    });

    it('--help lists the commands and the exit codes', async () => {
      const r = await agent(['--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/ingest \[options\] <paths\.\.\.>/).and.match(/Exit codes:/);
    });

    it('ingest: nothing to do in an empty directory; the campaign\'s ownership on a file (JSON and YAML configuration)', async () => {
      const empty = await agent(['--config', json, 'ingest', '--workers', '1', join(root, 'empty')]);
      expect(empty.code, empty.stderr).to.equal(0);
      expect(empty.stdout).to.match(/ingest: 0 files, 0 changed/);
      const f = join(root, 'obs', 'a.fits');
      writeFileSync(f, fitsFile([['CAMPAIGN', 'cli']], 100));
      chmodSync(f, 0o664);
      const one = await agent(['--config', yaml, 'ingest', '--workers', '1', join(root, 'obs')]);
      expect(one.code, one.stderr).to.equal(0);
      expect(one.stdout).to.match(/ingest: 1 file, 1 changed/);
      expect(ownershipOf(f)).to.match(/ 640$/);
    });

    it('with a pool, ingest and embargo end by themselves: the workers started before the configuration is read are used, or stopped unused', async () => {
      mkdirSync(join(root, 'pooled'), { recursive: true });
      const f = join(root, 'pooled', 'p.fits');
      writeFileSync(f, fitsFile([['CAMPAIGN', 'cli']], 100));
      chmodSync(f, 0o664);
      const dry = await agent(['--config', json, 'ingest', '--workers', '2', '--dry-run', join(root, 'pooled')]);
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stdout).to.match(/dry run: 1 file, 1 changed/);
      // Started with as many workers as the default (the cores, up to 4), the configuration wants 3: replaced.
      const three = join(base, 'three.json');
      writeFileSync(three, JSON.stringify({ ...JSON.parse(readFileSync(json, 'utf8')), agent: { stateDir: join(base, 'state'), ingest: { roots: [root], noticeDays: 0, workers: 3 } } }));
      const r = await agent(['--config', three, 'ingest', join(root, 'pooled')]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/ingest: 1 file, 1 changed/);
      expect(ownershipOf(f)).to.match(/ 640$/);
      const two = await agent(['--config', json, 'ingest', '--workers', '2', join(root, 'pooled')]);
      expect(two.code, two.stderr).to.equal(0);
      expect(two.stdout).to.match(/ingest: 1 file, 0 changed, 1 already right/);
      const lift = await agent(['--config', json, 'embargo', '--workers', '2']); // a tree too small for the pool
      expect(lift.code, lift.stderr).to.equal(0);
      expect(lift.stdout).to.match(/0 made world-readable/);
    });

    it('status without a sync yet; a configuration error exits 4 naming the key', async () => {
      const s = await agent(['--config', json, 'status']);
      expect(s.code, s.stderr).to.equal(0);
      expect(s.stdout).to.match(/last success: +never/);
      const bad = join(base, 'bad.yaml');
      writeFileSync(bad, 'agent:\n  stateDirr: /tmp/x\n');
      const r = await agent(['--config', bad, 'ingest', join(root, 'empty')]);
      expect(r.code).to.equal(EXIT.CONFIG);
      expect(r.stderr).to.match(/agent\.stateDirr: unknown key "stateDirr"; did you mean "stateDir"\?/);
    });
  });
});
