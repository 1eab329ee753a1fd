import { expect } from 'chai';
import { freeLoopbackPort } from '../../../core/ldap/managed-slapd.js';
import { ConfigError } from '../../../core/errors.js';
import { postDocuments, PublishRefused } from '../../../mapper-agent/ingest/publish.js';
import { reportConfigSchema } from '../../../mapper-agent/ingest/publish-config.js';

describe('mapper-agent/ingest/publish: failures are errors, nothing is retried silently', () => {
  it('no URL or an unreadable CA file: a configuration error; nobody listening: refused with status 0', async () => {
    const none = await postDocuments(reportConfigSchema.parse({}), [Buffer.from('x')]).then(() => undefined, (e: unknown) => e);
    expect(none).to.be.instanceOf(ConfigError);
    const badCa = await postDocuments(reportConfigSchema.parse({ publishUrl: 'https://localhost:1/x', caFile: '/nonexistent/ca.pem' }), [Buffer.from('x')]).then(() => undefined, (e: unknown) => e);
    expect(badCa).to.be.instanceOf(ConfigError);
    expect((badCa as Error).message).to.include('agent.report.caFile');
    const port = await freeLoopbackPort();
    const down = await postDocuments(reportConfigSchema.parse({ publishUrl: `https://localhost:${port}/api/compliance-reports` }), [Buffer.from('x')]).then(() => undefined, (e: unknown) => e);
    expect(down).to.be.instanceOf(PublishRefused);
    expect((down as PublishRefused).status).to.equal(0);
    expect((down as Error).message).to.include('is not reachable');
  });
});
