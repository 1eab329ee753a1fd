import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { agentConfigSchema } from '../../mapper-agent/config.js';
import { connectAgent } from '../../mapper-agent/connect.js';

describe('mapper-agent/connect', () => {
  it('connects to the configured server, and refuses with ConfigError when there is neither a URL nor a running managed slapd', async () => {
    const configured = connectAgent(agentConfigSchema.parse({ ldap: { url: 'ldap://127.0.0.1:1', bindDn: 'cn=agent', password: 'p' } }));
    expect(configured.options).to.deep.include({ url: 'ldap://127.0.0.1:1', bindDn: 'cn=agent' });
    await configured.close();
    const empty = mkdtempSync(join(tmpdir(), 'cg-agent-connect-'));
    expect(() => connectAgent(agentConfigSchema.parse({}), empty)).to.throw(ConfigError, /no ldap\.url is configured/);
  });
});
