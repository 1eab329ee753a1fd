import { expect } from 'chai';
import { spawnSync } from 'node:child_process';

/** Runs a snippet in its own process (pino writes to fd 2 directly) and returns its stderr lines and stdout. */
function run(code: string): { stdout: string; lines: Record<string, unknown>[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, CG_LOG_LEVEL: '' } });
  expect(r.status, r.stderr).to.equal(0);
  return { stdout: r.stdout, lines: r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('core/log', () => {
  it('lazyLogger loads pino on its first use and then logs as createLogger does (level, child, level change)', () => {
    const { stdout, lines } = run(`
      import { createRequire } from 'node:module';
      const { lazyLogger } = await import(${JSON.stringify(new URL('../../core/log.ts', import.meta.url).href)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/pino/'));
      const log = lazyLogger('lazy', 'info');
      console.log('before', loaded());
      log.debug('not shown');
      console.log('after', loaded());
      log.info({ n: 1 }, 'shown');
      log.level = 'warn';
      log.info('not shown either');
      log.child({ part: 'kid' }).warn('from a child');
      console.log('enabled', log.isLevelEnabled('error'), log.isLevelEnabled('info'), 'level' in log);
    `);
    expect(stdout.split('\n').filter(Boolean)).to.deep.equal(['before false', 'after true', 'enabled true false true']);
    expect(lines.map((l) => [l.msg, l.component, l.n, l.part])).to.deep.equal([['shown', 'lazy', 1, undefined], ['from a child', 'lazy', undefined, 'kid']]);
  });
});
