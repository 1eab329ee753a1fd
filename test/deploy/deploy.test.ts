/**
 * What README's install section tells operators to use is what was checked: the systemd units
 * pass `systemd-analyze verify` (systemd's own parser: any unknown or malformed directive is
 * reported on stderr) and the example configurations pass the programs' own validation.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config.js';
import { agentConfigSchema } from '../../mapper-agent/config.js';
import { AGENT_NODE_FLAGS } from '../../mapper-agent/node-flags.js';
import { portalConfigSchema } from '../../server/config.js';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;

function analyze(unit: string): { status: number | null; stderr: string } {
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.trim() };
}

describe('deploy/ (systemd units, example configurations)', function () {
  this.timeout(30000);
  const units = readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service'));

  it('ships the three units', () => {
    expect(units.sort()).to.deep.equal(['campaign-guard-portal.service', 'mapper-agent-ingest.service', 'mapper-agent.service']);
  });

  for (const unit of ['campaign-guard-portal.service', 'mapper-agent-ingest.service', 'mapper-agent.service']) {
    it(`systemd-analyze verify accepts ${unit} without a single warning`, function () {
      if (spawnSync('systemd-analyze', ['--version']).status !== 0) this.skip();
      expect(analyze(join(DEPLOY, 'systemd', unit))).to.deep.equal({ status: 0, stderr: '' });
    });
  }

  it('the agent runs with its node flags everywhere: both agent units, the bin\'s shebang (which starts it on this Debian), the benchmarks', () => {
    const flags = AGENT_NODE_FLAGS.join(' ');
    for (const unit of ['mapper-agent.service', 'mapper-agent-ingest.service']) {
      const exec = readFileSync(join(DEPLOY, 'systemd', unit), 'utf8').split('\n').find((l) => l.startsWith('ExecStart='));
      expect(exec, unit).to.match(new RegExp(`^ExecStart=/usr/bin/node ${flags} /opt/campaign-guard/dist/mapper-agent/cli\\.js `));
    }
    const cli = new URL('../../mapper-agent/cli.ts', import.meta.url).pathname;
    expect(readFileSync(cli, 'utf8').split('\n')[0]).to.equal(`#!/usr/bin/env -S node ${flags}`);
    for (const bench of ['ingest.ts', 'mapper-sync.ts']) {
      const text = readFileSync(new URL(`../../bench/${bench}`, import.meta.url).pathname, 'utf8');
      expect(text.match(/runCommand\(process\.execPath, \[(?!\.\.\.AGENT_NODE_FLAGS)/g), `${bench}: every node it starts gets the flags`).to.equal(null);
    }
    // The kernel and env -S (coreutils) hand node the flags (the build test below: the built bin keeps the line).
    const script = join(mkdtempSync(join(tmpdir(), 'cg-bin-')), 'flags');
    writeFileSync(script, `#!/usr/bin/env -S node ${flags}\nconsole.log(JSON.stringify(process.execArgv));\n`, { mode: 0o755 });
    const r = spawnSync(script, [], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([...AGENT_NODE_FLAGS]);
  });

  it('the check can fail: a misspelt directive is reported', function () {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'cg-unit-'));
    const broken = join(dir, 'broken.service');
    writeFileSync(broken, readFileSync(join(DEPLOY, 'systemd', 'mapper-agent.service'), 'utf8').replace('ProtectSystem=strict', 'ProtectSystem=strict\nProtectSystm=strict'));
    expect(analyze(broken).stderr).to.match(/Unknown key 'ProtectSystm'/);
  });

  it('the example configurations pass validation', () => {
    const portal = loadConfig(portalConfigSchema, { file: join(DEPLOY, 'portal.yaml'), env: {} });
    expect(portal.portal.tls.clientCaFiles).to.deep.equal(['/etc/grid-security/certificates']);
    for (const file of ['agent.yaml', 'agent-ingest.yaml']) {
      const agent = loadConfig(agentConfigSchema, { file: join(DEPLOY, file), env: {} });
      expect(agent.agent.stateDir).to.equal('/var/lib/mapper-agent');
    }
    const ingest = loadConfig(agentConfigSchema, { file: join(DEPLOY, 'agent-ingest.yaml'), env: {} });
    expect(ingest.agent.ingest.modes).to.include({ embargoed: 0o640, public: 0o644 });
  });

  it('the second-site example reads its own consumer and roots, and decides like site A (same classification and modes)', () => {
    const a = loadConfig(agentConfigSchema, { file: join(DEPLOY, 'agent-ingest.yaml'), env: {} });
    const b = loadConfig(agentConfigSchema, { file: join(DEPLOY, 'agent-second-site.yaml'), env: {} });
    expect(b.ldap.url).to.not.equal(a.ldap.url);
    expect(b.ldap.url).to.match(/consumer/);
    expect({ bindDn: b.ldap.bindDn, baseDn: b.ldap.baseDn }).to.deep.equal({ bindDn: a.ldap.bindDn, baseDn: a.ldap.baseDn });
    expect(b.agent.ingest.roots).to.not.deep.equal(a.agent.ingest.roots);
    expect(b.agent.stateDir).to.equal('/var/lib/mapper-agent');
    expect(b.agent.syncEnabled).to.equal(false);
    expect(a.agent.ingest.smtpUrl, 'site A mails the notices').to.not.equal('');
    expect(b.agent.ingest.smtpUrl, 'site B does not mail them a second time').to.equal('');
    expect(b.agent.ingest.classification).to.deep.equal(a.agent.ingest.classification);
    expect(b.agent.ingest.modes).to.deep.equal(a.agent.ingest.modes);
  });

  it('the built commands run with plain node (no tsx): --version and --help of both', function () {
    this.timeout(120000);
    const out = mkdtempSync(join(tmpdir(), 'cg-build-'));
    const root = new URL('../../', import.meta.url).pathname;
    const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', join(out, 'dist')], { encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).to.equal(0);
    writeFileSync(join(out, 'package.json'), readFileSync(join(root, 'package.json')));
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules')); // an install's dependencies, as npm ci lays them
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(readFileSync(join(out, 'dist/mapper-agent/cli.js'), 'utf8').split('\n')[0], 'the shebang with the agent\'s node flags').to.equal(`#!/usr/bin/env -S node ${AGENT_NODE_FLAGS.join(' ')}`);
    for (const cli of ['dist/mapper-agent/cli.js', 'dist/server/cli.js']) {
      const v = spawnSync(process.execPath, [join(out, cli), '--version'], { encoding: 'utf8', cwd: out });
      expect(v.stdout.trim(), cli + v.stderr).to.equal(version);
      const help = spawnSync(process.execPath, [join(out, cli), '--help'], { encoding: 'utf8', cwd: out });
      expect(help.status).to.equal(0);
      expect(help.stdout).to.match(/Usage: (mapper-agent|campaign-guard)/);
    }
  });
});
