/**
 * The ingest tests (hostile trees, fail-closed, kill -9, commands, ...) run in this suite with the
 * file implementation that loaded (the native primitives when built); here they run again, in a
 * child mocha, with the pure-JS path (CAMPAIGN_GUARD_FS=js), so both keep every rule.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileBackend } from '../../../mapper-agent/ingest/safe-file.js';

describe('mapper-agent/ingest: the same tests with the other file implementation', function () {
  it('every ingest test passes with the pure-JS path (CAMPAIGN_GUARD_FS=js)', function () {
    if (fileBackend.name !== 'native') this.skip(); // this run already is the pure-JS one
    this.timeout(20 * 60_000);
    const here = import.meta.dirname;
    const files = readdirSync(here).filter((f) => f.endsWith('.test.ts') && f !== basename(import.meta.filename)).map((f) => join(here, f));
    const run = spawnSync(process.execPath, [join(here, '../../../node_modules/mocha/bin/mocha.js'), ...files], {
      env: { ...process.env, CAMPAIGN_GUARD_FS: 'js' }, encoding: 'utf8', maxBuffer: 64 << 20,
    });
    const out = `${run.stdout}${run.stderr}`;
    const closing = /tests: (\d+) passed, (\d+) failed, (\d+) skipped/.exec(out);
    expect(closing, out.slice(-6000)).to.not.equal(null);
    expect(Number(closing![2]), out.slice(-6000)).to.equal(0);
    expect(Number(closing![1])).to.be.greaterThan(0);
    expect(run.status, out.slice(-6000)).to.equal(0);
  });
});
