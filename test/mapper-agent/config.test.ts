import { expect } from 'chai';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { agentConfigSchema } from '../../mapper-agent/config.js';

describe('mapper-agent/config', () => {
  it('checks every cron schedule at load', () => {
    const cfg = loadConfig(agentConfigSchema, { env: { CG_AGENT__FULL_SYNC_SCHEDULE: '*/5 * * * *', CG_AGENT__INGEST__EMBARGO_SCHEDULE: '0 3 * * *' } });
    expect([cfg.agent.fullSyncSchedule, cfg.agent.ingest.embargoSchedule]).to.deep.equal(['*/5 * * * *', '0 3 * * *']);
    expect(() => loadConfig(agentConfigSchema, { env: { CG_AGENT__FULL_SYNC_SCHEDULE: 'every 15 minutes' } })).to.throw(ConfigError, /agent\.fullSyncSchedule: not a cron expression/);
    expect(() => loadConfig(agentConfigSchema, { env: { CG_AGENT__INGEST__EMBARGO_SCHEDULE: '61 * * * *' } })).to.throw(ConfigError, /agent\.ingest\.embargoSchedule: not a cron expression/);
  });

  it('refuses unknown keys with a suggestion, and accepts a file shared with the portal', () => {
    expect(() => loadConfig(agentConfigSchema, { env: { CG_AGENT__MULTIMAP_PAHT: '/x' } })).to.throw(ConfigError, /agent\.multimapPaht: unknown key "multimapPaht"; did you mean "multimapPath"\?/);
    expect(() => loadConfig(agentConfigSchema, { env: { CG_PORTAL__PORT: '1' } })).to.not.throw();
  });

  it('agent.report: an HTTPS publishing URL, a schedule only with it, checked at load', () => {
    const cfg = loadConfig(agentConfigSchema, { env: { CG_AGENT__REPORT__PUBLISH_URL: 'https://portal.example.org/api/compliance-reports', CG_AGENT__REPORT__PUBLISH_SCHEDULE: '0 6 * * *' } });
    expect(cfg.agent.report).to.deep.include({ publishUrl: 'https://portal.example.org/api/compliance-reports', publishSchedule: '0 6 * * *' });
    expect(loadConfig(agentConfigSchema, { env: {} }).agent.report.publishUrl, 'off by default').to.equal('');
    expect(() => loadConfig(agentConfigSchema, { env: { CG_AGENT__REPORT__PUBLISH_URL: 'http://portal.example.org/api/compliance-reports' } })).to.throw(ConfigError, /agent\.report\.publishUrl: the report goes to the portal over HTTPS only/);
    expect(() => loadConfig(agentConfigSchema, { env: { CG_AGENT__REPORT__PUBLISH_SCHEDULE: '0 6 * * *' } })).to.throw(ConfigError, /agent\.report\.publishSchedule: set publishUrl too/);
    expect(() => loadConfig(agentConfigSchema, { env: { CG_AGENT__REPORT__PUBLISH_URL: 'https://p.example.org/', CG_AGENT__REPORT__PUBLISH_SCHEDULE: 'daily' } })).to.throw(ConfigError, /agent\.report\.publishSchedule: not a cron expression/);
  });
});
