import { expect } from 'chai';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { adler32, adler32Hex, adler32OfFd } from '../../../mapper-agent/rucio/adler32.js';
import { rucioConfigSchema } from '../../../mapper-agent/rucio/config.js';
import { RucioClient, RucioError, toRucioFile } from '../../../mapper-agent/rucio/client.js';
import { startRucioStub, type RucioStub } from '../../support/rucio-stub.js';

describe('mapper-agent/rucio', () => {
  describe('adler32', () => {
    it('matches the reference values', () => {
      expect(adler32Hex(adler32(Buffer.from('')))).to.equal('00000001');
      expect(adler32Hex(adler32(Buffer.from('Wikipedia')))).to.equal('11e60398');
    });

    it('matches zlib (python3) on a file larger than one chunk, and chunking does not change it', () => {
      const dir = mkdtempSync(join(tmpdir(), 'cg-adler-'));
      const file = join(dir, 'big.bin');
      const data = Buffer.alloc(3 * (1 << 20) + 12345);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      writeFileSync(file, data);
      const expected = execFileSync('python3', ['-c', `import zlib,sys;print('%08x' % zlib.adler32(open(sys.argv[1],'rb').read()))`, file]).toString().trim();
      const fd = openSync(file, 'r');
      try {
        expect(adler32OfFd(fd, data.length)).to.deep.equal({ adler32: expected, bytes: data.length });
      } finally {
        closeSync(fd);
      }
      expect(adler32Hex(adler32(data.subarray(1000), adler32(data.subarray(0, 1000))))).to.equal(expected);
    });
  });

  describe('client against a Rucio API stub', () => {
    let stub: RucioStub;
    const root = '/pnfs/example.org/data';
    const config = (over: Record<string, unknown> = {}) =>
      rucioConfigSchema.parse({
        enabled: true, url: stub.url, account: 'cg', username: 'cg-agent', password: 's3cret', rse: 'DCACHE_DISK',
        dataset: '{campaign}-raw', pfnPrefixes: { [root]: 'davs://dcache.example.org:2880/pnfs/example.org/data' }, ...over,
      });

    beforeEach(async () => { stub = await startRucioStub(); });
    afterEach(async () => { await stub.close(); });

    it('refuses an enabled configuration without the required fields', () => {
      const r = rucioConfigSchema.safeParse({ enabled: true });
      expect(r.success).to.equal(false);
      expect(r.error!.issues.map((i) => i.path.join('.'))).to.include.members(['url', 'account', 'password', 'rse', 'pfnPrefixes']);
      expect(rucioConfigSchema.parse({}).enabled).to.equal(false);
    });

    it('builds scope, name and PFN from the data root, encoding unsafe characters', () => {
      const f = toRucioFile({ path: `${root}/2026/obs #1.fits`, campaign: 'flare24', bytes: 10, adler32: '0000abcd' }, config());
      expect(f).to.deep.equal({
        scope: 'flare24', name: '2026/obs #1.fits', bytes: 10, adler32: '0000abcd',
        pfn: 'davs://dcache.example.org:2880/pnfs/example.org/data/2026/obs%20%231.fits', meta: { campaign: 'flare24' },
      });
      expect(() => toRucioFile({ path: '/elsewhere/x.fits', campaign: 'c', bytes: 1, adler32: '00000001' }, config())).to.throw(RucioError, /no configured/);
      expect(() => toRucioFile({ path: `${root}-evil/x.fits`, campaign: 'c', bytes: 1, adler32: '00000001' }, config())).to.throw(RucioError);
    });

    it('registers replicas, creates the campaign dataset once and attaches the files', async () => {
      const client = new RucioClient(config());
      await client.register([
        { path: `${root}/a.fits`, campaign: 'flare24', bytes: 2880, adler32: '12345678' },
        { path: `${root}/b.fits`, campaign: 'flare24', bytes: 5760, adler32: '9abcdef0' },
      ]);
      await client.register([{ path: `${root}/c.fits`, campaign: 'flare24', bytes: 1, adler32: '00000002' }]);
      expect(stub.violations).to.deep.equal([]);
      expect([...stub.replicas.keys()].sort()).to.deep.equal(['DCACHE_DISK:flare24:a.fits', 'DCACHE_DISK:flare24:b.fits', 'DCACHE_DISK:flare24:c.fits']);
      expect([...stub.datasets.get('flare24:flare24-raw')!].sort()).to.deep.equal(['flare24:a.fits', 'flare24:b.fits', 'flare24:c.fits']);
      expect(stub.authCount).to.equal(1);
    });

    it('publishes campaign, embargo end and public flag as DID metadata (set_dids_metadata_bulk), and updates them on release', async () => {
      const client = new RucioClient(config());
      const end = new Date('2027-06-01T00:00:00Z');
      await client.register([
        { path: `${root}/a.fits`, campaign: 'flare24', bytes: 2880, adler32: '12345678', embargo: { embargoEnd: end, public: false } },
        { path: `${root}/a_ql.png`, campaign: 'flare24', bytes: 100, adler32: '00000003', embargo: { embargoEnd: end, public: true } },
      ]);
      expect(stub.violations).to.deep.equal([]);
      expect(stub.meta.get('flare24:a.fits')).to.deep.equal({ campaign: 'flare24', embargo_end: '2027-06-01T00:00:00.000Z', public: false });
      expect(stub.meta.get('flare24:a_ql.png')).to.include({ public: true });
      await client.updateEmbargo([{ path: `${root}/a.fits`, campaign: 'flare24', embargo: { embargoEnd: end, public: true } }]);
      expect(stub.meta.get('flare24:a.fits')).to.include({ public: true });
      expect(stub.violations).to.deep.equal([]);
    });

    it('authenticates again once when the token expired', async () => {
      const client = new RucioClient(config({ dataset: '' }));
      await client.register([{ path: `${root}/a.fits`, campaign: 'c1', bytes: 1, adler32: '00000001' }]);
      stub.expireTokens();
      await client.register([{ path: `${root}/b.fits`, campaign: 'c1', bytes: 1, adler32: '00000001' }]);
      expect(stub.authCount).to.equal(2);
      expect(stub.replicas.size).to.equal(2);
    });

    it('reports Rucio refusals and wrong credentials as RucioError with the exception class', async () => {
      const client = new RucioClient(config({ dataset: '' }));
      const file = { path: `${root}/a.fits`, campaign: 'c1', bytes: 1, adler32: '00000001' };
      await client.register([file]);
      const dup = await client.register([file]).catch((e: unknown) => e);
      expect(dup).to.be.instanceOf(RucioError).and.include({ status: 409, exceptionClass: 'Duplicate' });
      const wrong = await new RucioClient(config({ password: 'nope' })).register([file]).catch((e: unknown) => e);
      expect(wrong).to.be.instanceOf(RucioError).with.property('message').that.matches(/authentication failed: HTTP 401/);
    });

    it('reports an unreachable server clearly and quickly', async () => {
      const url = stub.url;
      await stub.close();
      stub = await startRucioStub();
      const err = await new RucioClient(config({ url, timeoutMs: 2000 })).register([{ path: `${root}/a.fits`, campaign: 'c', bytes: 1, adler32: '00000001' }]).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RucioError).with.property('message').that.matches(/unreachable/);
    });
  });
});
