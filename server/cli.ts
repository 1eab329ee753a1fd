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
import { packageVersion } from '../core/version.js';
import { portalConfigSchema, servePortalConfigSchema } from './config.js';

export function buildProgram(): Command {
  const program = new Command('campaign-guard')
    .version(packageVersion())
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
  program
    .command('doctor')
    .description('check the trust as dCache would see it (CAs without namespace policy or current CRL, unreadable trust files) and the directory\'s consistency (accounts without private group, dangling identities and memberships, counters behind, half-made accounts, duplicate numbers); --fix repairs what is safe and lists what needs a person; exit 5 when something needs attention, 3 when the directory cannot be read')
    .option('--fix', 'repair the directory findings that are safe to repair')
    .option('--pending-max-age <minutes>', 'report accounts half-made (pending) for longer than this', '60')
    .action(async (opts: { fix?: boolean; pendingMaxAge: string }) => {
      const [{ loadTrustStore }, { reportTrust }] = await Promise.all([import('./auth/certificate-chain.js'), import('./auth/trust/trust-report.js')]);
      const cfg = config();
      const tls = cfg.portal.tls;
      const trust = loadTrustStore(tls.clientCaFiles, tls.crlFiles, { namespaceMode: tls.namespaceMode, crlMode: tls.crlMode });
      const findings = reportTrust(trust.current(), trust);
      for (const f of findings) console.log(`${f.ok ? 'ok  ' : 'FAIL'} ${f.subject}: ${f.detail}`);
      if (!findings.length) console.log('no CA configured (portal.tls.clientCaFiles)');
      if (findings.some((f) => !f.ok)) process.exitCode = 5;
      const minutes = Number(opts.pendingMaxAge);
      if (!Number.isFinite(minutes) || minutes < 0) throw new ConfigError('--pending-max-age: a number of minutes');
      const code = await doctorDirectory(cfg, { fix: opts.fix === true, pendingMaxAgeMs: minutes * 60000 });
      if (code !== 0) process.exitCode = code === 3 ? 3 : Math.max(Number(process.exitCode ?? 0), code); // unreadable directory wins
    });

  const service = program.command('service').description('service identities (public-reader, replication, instrument): create, bind a robot/host certificate or an OIDC client, list; audited as the admin named by --as');
  const withService = async (as: string, run: (ctx: import('./services/context.js').ServiceContext, actor: import('./services/context.js').Actor) => Promise<void>) => {
    const [{ openDirectory }, { userInfo }] = await Promise.all([import('../core/directory/index.js'), import('node:os')]);
    const open = await openDirectory(config(), { account: 'portal' });
    const trail = await openTrail();
    try {
      const me = await open.directory.people.require(as);
      const actor = { username: me.username, isAdmin: me.roles.includes('admin') && me.status === 'active' && me.serviceRole === undefined, identity: `cli:${userInfo().username}`, ip: 'cli' };
      await run({ directory: open.directory, audit: trail }, actor);
    } finally {
      trail.close();
      await open.close();
    }
  };
  service
    .command('create')
    .description('create a service identity (a replication identity joins every campaign at once)')
    .requiredOption('--as <admin>', 'your username; it must hold the admin role (recorded as the actor)')
    .requiredOption('--username <name>', 'the account name (its UID\'s name)')
    .requiredOption('--role <role>', 'public-reader, replication or instrument')
    .requiredOption('--description <text>', 'what it is, e.g. "Rucio FTS"')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .action(async (opts: { as: string; username: string; role: string; description: string; reason: string }) => {
      const { createServiceIdentity } = await import('./services/service-identities.js');
      await withService(opts.as, async (ctx, actor) => {
        const p = await createServiceIdentity(ctx, actor, { username: opts.username, role: opts.role, description: opts.description, reason: opts.reason });
        console.log(`created ${p.username}: ${p.serviceRole}, uid ${p.uidNumber}, gid ${p.gidNumber}`);
      });
    });
  service
    .command('bind <username>')
    .description('bind a certificate subject (--subject, grid form) or an OIDC client (--issuer and --sub) to a service identity')
    .requiredOption('--as <admin>', 'your username; it must hold the admin role (recorded as the actor)')
    .option('--subject <dn>', 'certificate subject, grid slash form')
    .option('--issuer <url>', 'OIDC issuer (with --sub)')
    .option('--sub <sub>', 'OIDC client subject (with --issuer)')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .action(async (username: string, opts: { as: string; subject?: string; issuer?: string; sub?: string; reason: string }) => {
      const { bindServiceIdentity } = await import('./services/service-identities.js');
      if ((opts.subject === undefined) === (opts.issuer === undefined || opts.sub === undefined)) throw new ConfigError('give either --subject, or --issuer and --sub');
      const input = opts.subject !== undefined ? { type: 'x509' as const, subject: opts.subject } : { type: 'oidc' as const, issuer: opts.issuer!, subject: opts.sub! };
      await withService(opts.as, async (ctx, actor) => {
        const identity = await bindServiceIdentity(ctx, actor, username, input, opts.reason);
        console.log(`bound to ${username}: ${identity.key}`);
      });
    });
  service
    .command('list')
    .description('service identities, one a line: username, role, uid, status, bound identities')
    .requiredOption('--as <admin>', 'your username; it must hold the admin role')
    .action(async (opts: { as: string }) => {
      const [{ listServiceIdentities }, { describeIdentity, identityRef }] = await Promise.all([import('./services/service-identities.js'), import('../core/directory/index.js')]);
      await withService(opts.as, async (ctx, actor) => {
        for (const { person, identities } of await listServiceIdentities(ctx, actor)) {
          console.log([person.username, person.serviceRole, person.uidNumber, person.status, ...identities.map((i) => describeIdentity(identityRef(i)))].join('\t'));
        }
      });
    });

  const writer = program.command('writer').description('multi-provider (allocation.partition): which writer may claim names and take decisions; docs/replication.md');
  writer
    .command('show')
    .description('this portal\'s partition and the designated name writer')
    .requiredOption('--as <admin>', 'your username; it must hold the admin role')
    .action(async (opts: { as: string }) => {
      const { nameWriterState } = await import('./services/name-writer.js');
      await withService(opts.as, async (ctx) => {
        const { partition, designated } = await nameWriterState(ctx);
        console.log(partition ? `this portal: writer ${partition.index} of ${partition.count}; names are claimed and requests decided at writer ${designated ?? '(none designated)'}` : 'one writer (no allocation.partition configured)');
      });
    });
  writer
    .command('designate <index>')
    .description('make writer <index> the one that claims names (usernames, identities, campaigns) and decides membership requests; audited')
    .requiredOption('--as <admin>', 'your username; it must hold the admin role (recorded as the actor)')
    .requiredOption('--reason <text>', 'why, e.g. "provider A retired" (kept in the audit trail)')
    .action(async (index: string, opts: { as: string; reason: string }) => {
      const { designateNameWriter } = await import('./services/name-writer.js');
      if (!/^\d+$/.test(index)) throw new ConfigError('<index>: a writer index 0..count-1');
      await withService(opts.as, async (ctx, actor) => {
        await designateNameWriter(ctx, actor, Number(index), opts.reason);
        console.log(`names are claimed at writer ${index} from now on`);
      });
    });

  const audit = program.command('audit').description('the audit trail (portal.dataDir/audit.sqlite)');
  audit
    .command('verify')
    .description('check chain, signatures and signed head; exit 1 and name the first broken record if it was tampered with')
    .option('--export <file>', 'verify an export (JSON Lines from `audit export`) instead of the portal\'s database')
    .option('--public-key <file>', 'with --export: the portal\'s audit public key (portal.dataDir/audit.sqlite.key.pub)')
    .option('--head <file>', 'with --export: the signed head (portal.dataDir/audit.sqlite.head, or the last "audit trail head" log line)')
    .action(async (opts: { export?: string; publicKey?: string; head?: string }) => {
      let check;
      if (opts.export) {
        if (!opts.publicKey || !opts.head) throw new ConfigError('--export needs --public-key and --head');
        const [{ verifyRecords }, { createPublicKey }, { readFileSync }] = await Promise.all([import('./audit/trail.js'), import('node:crypto'), import('node:fs')]);
        const records = readFileSync(opts.export, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        check = verifyRecords(records, createPublicKey(readFileSync(opts.publicKey)), JSON.parse(readFileSync(opts.head, 'utf8')));
      } else {
        const trail = await openTrail();
        check = trail.verify();
        trail.close();
      }
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

/**
 * The directory part of `doctor`: one line per finding (`FAIL <check> <dn>: <detail>`), with --fix
 * `fixed <check> <dn>: <action>` or `NEEDS A PERSON <check> <dn>: <detail> (<reason>)`, then a
 * summary line. Returns 0 (consistent, or everything repaired), 5 (attention) or 3 (unreadable).
 */
export async function doctorDirectory(
  cfg: Parameters<typeof import('../core/directory/open.js').openDirectory>[0],
  options: { fix: boolean; pendingMaxAgeMs: number; varDir?: string },
  out: (line: string) => void = (line) => console.log(line),
): Promise<0 | 3 | 5> {
  const [{ openDirectory, checkDirectory, repairDirectory, summarise }, { DirectoryUnavailableError }] = await Promise.all([import('../core/directory/index.js'), import('../core/errors.js')]);
  let open;
  try {
    open = await openDirectory(cfg, { account: 'portal', ...(options.varDir ? { varDir: options.varDir } : {}) });
    const findings = await checkDirectory(open.directory, { pendingMaxAgeMs: options.pendingMaxAgeMs });
    if (!options.fix) {
      for (const f of findings) out(`FAIL ${f.check} ${f.dn}: ${f.detail}${f.safe ? ' (--fix repairs it)' : ' (needs a person)'}`);
      out(`directory: ${summarise(findings)}`);
      return findings.length ? 5 : 0;
    }
    const outcome = await repairDirectory(open.directory, findings);
    for (const { finding, action } of outcome.fixed) out(`fixed ${finding.check} ${finding.dn}: ${action}`);
    for (const { finding, reason } of outcome.needsPerson) out(`NEEDS A PERSON ${finding.check} ${finding.dn}: ${finding.detail} (${reason})`);
    const left = await checkDirectory(open.directory, { pendingMaxAgeMs: options.pendingMaxAgeMs });
    out(`directory: ${outcome.fixed.length} repaired; now ${summarise(left)}`);
    return left.length ? 5 : 0;
  } catch (err) {
    if (err instanceof DirectoryUnavailableError) {
      out(`FAIL directory: ${(err as Error).message}`);
      return 3;
    }
    throw err;
  } finally {
    await open?.close();
  }
}

if (process.argv[1] && /server\/cli\.(ts|js)$/.test(process.argv[1])) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`campaign-guard: ${(err as Error).message}`);
      process.exit(err instanceof ConfigError ? 4 : 1);
    });
}
