/**
 * The embargo compliance report, per campaign: what is on disk now (files of the campaign closed to
 * the world, public, not as policy says: drift), what could not be attributed (quarantine), and the
 * history from the journal (releases and re-embargoes: how many, when last, by which runs). The
 * on-disk figures come from the same decision the agent applies, on a read-only walk (dry run):
 * they are what a PI or a funding agency asks for, and `verify --fix` or `embargo` act on them.
 */
import type { Ownership, Decision } from '../../core/embargo/policy.js';
import type { IngestEngine } from './engine.js';
import type { Journal } from './journal.js';

export interface CampaignCompliance {
  campaign: string;
  files: number;
  /** under embargo now: no world read */
  closed: number;
  /** world-readable: public products, or data whose embargo ended */
  public: number;
  /** owner, group or mode not as policy says (verify --fix, or the next ingest, repairs them) */
  drift: number;
  released: { files: number; last: string | null; runs: number[] };
  reembargoed: { files: number; last: string | null; runs: number[] };
}

export interface ComplianceReport {
  campaigns: CampaignCompliance[];
  /** files that could not be attributed to a campaign and are closed to the world (or will be) */
  quarantined: number;
  generatedAt: string;
}

/** Walk with a dry-run engine built with `onDecision` = collector.onDecision, then call collector.report(journal). */
export class ComplianceCollector {
  private readonly byCampaign = new Map<string, CampaignCompliance>();
  private quarantined = 0;

  readonly onDecision = (_path: string, current: Ownership, decision: Decision): void => {
    if (decision.action === 'quarantine') return void this.quarantined++;
    if (decision.action !== 'set' || !decision.campaign) return;
    const c = this.entry(decision.campaign);
    c.files++;
    if ((decision.target.mode & 0o004) !== 0) c.public++;
    else c.closed++;
    if (current.uid !== decision.target.uid || current.gid !== decision.target.gid || current.mode !== decision.target.mode) c.drift++;
  };

  private entry(campaign: string): CampaignCompliance {
    let c = this.byCampaign.get(campaign);
    if (!c) {
      c = { campaign, files: 0, closed: 0, public: 0, drift: 0, released: { files: 0, last: null, runs: [] }, reembargoed: { files: 0, last: null, runs: [] } };
      this.byCampaign.set(campaign, c);
    }
    return c;
  }

  report(journal: Journal): ComplianceReport {
    for (const h of journal.appliedByCampaign(['embargo-lift', 're-embargo'])) {
      const c = this.entry(h.campaign);
      c[h.kind === 'embargo-lift' ? 'released' : 'reembargoed'] = { files: h.files, last: h.last, runs: h.runs };
    }
    return { campaigns: [...this.byCampaign.values()].sort((a, b) => a.campaign.localeCompare(b.campaign)), quarantined: this.quarantined, generatedAt: new Date().toISOString() };
  }
}

export async function collectCompliance(engine: (onDecision: ComplianceCollector['onDecision']) => IngestEngine, roots: string[], journal: Journal): Promise<ComplianceReport> {
  const collector = new ComplianceCollector();
  await engine(collector.onDecision).ingest(roots);
  return collector.report(journal);
}

/** CSV, one line per campaign (RFC 4180 quoting where needed). */
export function complianceCsv(r: ComplianceReport): string {
  const q = (v: string | number | null) => (v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const head = 'campaign,files,closed,public,drift,released_files,released_last,released_runs,reembargoed_files,reembargoed_last,reembargoed_runs';
  return [head, ...r.campaigns.map((c) => [c.campaign, c.files, c.closed, c.public, c.drift, c.released.files, c.released.last, c.released.runs.join(' '), c.reembargoed.files, c.reembargoed.last, c.reembargoed.runs.join(' ')].map(q).join(','))].join('\n') + '\n';
}
