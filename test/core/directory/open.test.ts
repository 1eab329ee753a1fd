import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../core/config.js';
import { openDirectory } from '../../../core/directory/open.js';
import { directoryConfigSchema } from '../../../core/ldap/config.js';

describe('core/directory/open', function () {
  this.timeout(20000);
  it('starts a managed slapd under <varDir>/slapd when no URL is configured, and reuses it', async () => {
    const varDir = mkdtempSync(join(tmpdir(), 'cg-var-'));
    try {
      const cfg = loadConfig(directoryConfigSchema, { env: {} });
      const a = await openDirectory(cfg, { varDir });
      expect(a.slapd).to.not.equal(undefined);
      expect(existsSync(join(varDir, 'slapd', 'credentials.json'))).to.equal(true);
      await a.directory.people.create({ username: 'keeper' });
      await a.close();
      const b = await openDirectory(cfg, { varDir });
      try {
        expect((await b.directory.people.get('keeper'))?.username).to.equal('keeper');
        // and a configured URL connects to it like any server
        const c = await openDirectory(
          loadConfig(directoryConfigSchema, { env: { CG_LDAP__URL: b.slapd!.url, CG_LDAP__BIND_DN: b.slapd!.agent.dn, CG_LDAP__PASSWORD: b.slapd!.agent.password } }),
        );
        expect(c.slapd).to.equal(undefined);
        expect((await c.directory.people.get('keeper'))?.uidNumber).to.be.a('number');
        await c.close();
      } finally {
        await b.close();
      }
    } finally {
      rmSync(varDir, { recursive: true, force: true });
    }
  });
});
