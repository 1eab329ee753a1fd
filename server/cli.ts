#!/usr/bin/env node
/**
 * campaign-guard: the portal's command line. `serve` runs the portal from a configuration file;
 * `audit verify` checks the audit trail's hash chain; `audit export` writes it as JSON Lines.
 * (`bash scripts/demo.sh` runs the demo; the storage-node agent is `mapper-agent`.)
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { portalConfigSchema, servePortalConfigSchema } from './config.js';

export function buildProgram(): Command {
  const program = new Command('campaign-guard')
    .description('Registration portal of campaign-guard: certificate and OIDC login, accounts, campaigns, audit.')
    .addOption(new Option('-c, --config <file>', 'configuration file (YAML); CG_* environment variables override it').env('CG_CONFIG'))
    .showHelpAfterError();
  const config = () => loadConfig(portalConfigSchema, { file: program.opts<{ config?: string }>().config });

  program
    .command('serve')
    .description('run the portal (HTTPS with certificate login, or HTTP behind a configured reverse proxy)')
    .action(async () => {
      const { startPortal } = await import('./portal.js');
      const portal = await startPortal(loadConfig(servePortalConfigSchema, { file: program.opts<{ config?: string }>().config }));
      console.log(`campaign-guard portal listening on ${portal.url}`);
      await new Promise<void>((resolve) => {
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve());
      });
      await portal.close();
    });

  const openTrail = async () => {
    const { AuditTrail } = await import('./audit/trail.js');
    return new AuditTrail(join(config().portal.dataDir, 'audit.sqlite'));
  };
  const audit = program.command('audit').description('the audit trail (portal.dataDir/audit.sqlite)');
  audit
    .command('verify')
    .description('check the hash chain; exit 1 and name the first broken record if it was tampered with')
    .action(async () => {
      const trail = await openTrail();
      const check = trail.verify();
      trail.close();
      if (check.ok) console.log(`audit trail intact: ${check.count} records`);
      else {
        console.log(`audit trail BROKEN at record ${check.brokenAt}: ${check.reason} (${check.count} records before it are intact)`);
        process.exitCode = 1;
      }
    });
  audit
    .command('export')
    .description('write every record as JSON Lines to stdout, oldest first')
    .action(async () => {
      const trail = await openTrail();
      for (const r of trail.all()) process.stdout.write(`${JSON.stringify(r)}\n`);
      trail.close();
    });
  return program;
}

if (process.argv[1] && /server\/cli\.(ts|js)$/.test(process.argv[1])) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`campaign-guard: ${(err as Error).message}`);
      process.exit(err instanceof ConfigError ? 4 : 1);
    });
}
