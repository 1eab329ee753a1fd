/**
 * Registers ingested files in Rucio through its REST API (the endpoints rucio-clients uses):
 *   GET  /auth/userpass               X-Rucio-Account/-Username/-Password -> X-Rucio-Auth-Token
 *   POST /dids/{scope}/{dataset}      {type: "DATASET"}        create the campaign dataset (409 = exists)
 *   POST /replicas                    {rse, files: [{scope, name, bytes, adler32, pfn, meta}]}
 *   POST /dids/{scope}/{dataset}/dids {dids: [{scope, name}], rse}  attach files to the dataset
 *   POST /dids/bulkdidsmeta           {dids: [{scope, name, meta}], recursive}  DID metadata (didclient
 *                                     set_dids_metadata_bulk): campaign, embargo_end (the file's own end; for a
 *                                     rolling campaign its DATE-OBS/ingest + period, see file-embargo.ts), public,
 *                                     date_obs, proprietary_days, so that files are searchable in Rucio during the
 *                                     embargo; updated on release and re-embargo
 * A 401 triggers one fresh authentication and one retry; any other failure is a RucioError.
 */
import { relative, sep } from 'node:path';
import { CampaignGuardError } from '../../core/errors.js';
import type { RucioConfig } from './config.js';

export class RucioError extends CampaignGuardError {
  static override code = 'ERR_RUCIO';
  override readonly code = 'ERR_RUCIO';
  override readonly name = 'RucioError';
  constructor(message: string, readonly status?: number, readonly exceptionClass?: string) {
    super(message);
  }
}

export interface IngestedFile {
  path: string;
  campaign: string;
  bytes: number;
  adler32: string;
  /** the embargo facts to publish as DID metadata */
  embargo?: EmbargoMetadata;
}

/**
 * What Rucio users may search by: the campaign, when this file's embargo ends (null: none, or, for a
 * closed file of a rolling campaign, not known), whether the file is public now, its observation
 * date (DATE-OBS; null: none readable) and the campaign's proprietary period (null: campaign date).
 * The last two are sent only when given.
 */
export interface EmbargoMetadata {
  embargoEnd: Date | null;
  public: boolean;
  observed?: Date | null;
  proprietaryDays?: number | null;
}

export type DidMetadata = Record<string, string | number | boolean | null>;

function embargoMetadata(campaign: string, e: EmbargoMetadata): DidMetadata {
  return {
    campaign, embargo_end: e.embargoEnd ? e.embargoEnd.toISOString() : null, public: e.public,
    ...(e.observed !== undefined ? { date_obs: e.observed ? e.observed.toISOString() : null } : {}),
    ...(e.proprietaryDays !== undefined ? { proprietary_days: e.proprietaryDays } : {}),
  };
}

export interface RucioFile {
  scope: string;
  name: string;
  bytes: number;
  adler32: string;
  pfn: string;
  meta: Record<string, string>;
}

/** Scope, name (path under its data root) and PFN of a local file, from the configuration. */
export function toRucioFile(file: IngestedFile, cfg: RucioConfig): RucioFile {
  const entry = Object.entries(cfg.pfnPrefixes)
    .filter(([root]) => file.path === root || file.path.startsWith(root.endsWith(sep) ? root : root + sep))
    .sort((a, b) => b[0].length - a[0].length)[0];
  if (!entry) throw new RucioError(`${file.path} is under no configured Rucio PFN prefix root`);
  const [root, prefix] = entry;
  const name = relative(root, file.path).split(sep).join('/');
  return {
    scope: expand(cfg.scope, file.campaign),
    name,
    bytes: file.bytes,
    adler32: file.adler32,
    pfn: `${prefix.replace(/\/+$/, '')}/${name.split('/').map(encodeURIComponent).join('/')}`,
    meta: { campaign: file.campaign },
  };
}

function expand(template: string, campaign: string): string {
  return template.replaceAll('{campaign}', campaign);
}

export class RucioClient {
  private token: string | undefined;
  private readonly knownDatasets = new Set<string>();

  constructor(private readonly cfg: RucioConfig) {
    if (!cfg.enabled || !cfg.url || !cfg.rse) throw new RucioError('Rucio is not enabled in the configuration');
  }

  /** Register replicas (grouped in one request) and attach them to their campaign datasets. */
  async register(files: IngestedFile[]): Promise<RucioFile[]> {
    if (files.length === 0) return [];
    const rucioFiles = files.map((f) => toRucioFile(f, this.cfg));
    await this.call('POST', '/replicas', { rse: this.cfg.rse, files: rucioFiles, ignore_availability: true }, [201]);
    const withMeta = files.flatMap((f, i) => (f.embargo ? [{ scope: rucioFiles[i]!.scope, name: rucioFiles[i]!.name, meta: embargoMetadata(f.campaign, f.embargo) }] : []));
    if (withMeta.length) await this.setMetadata(withMeta);
    if (this.cfg.dataset) {
      const byDataset = new Map<string, { scope: string; dataset: string; dids: { scope: string; name: string }[] }>();
      files.forEach((f, i) => {
        const scope = expand(this.cfg.scope, f.campaign);
        const dataset = expand(this.cfg.dataset, f.campaign);
        const key = `${scope}:${dataset}`;
        const group = byDataset.get(key) ?? { scope, dataset, dids: [] };
        group.dids.push({ scope: rucioFiles[i]!.scope, name: rucioFiles[i]!.name });
        byDataset.set(key, group);
      });
      for (const [key, { scope, dataset, dids }] of byDataset) {
        const path = `/dids/${encodeURIComponent(scope)}/${encodeURIComponent(dataset)}`;
        if (!this.knownDatasets.has(key)) {
          await this.call('POST', path, { type: 'DATASET' }, [201, 409]);
          this.knownDatasets.add(key);
        }
        await this.call('POST', `${path}/dids`, { dids, rse: this.cfg.rse }, [201]);
      }
    }
    return rucioFiles;
  }

  /** Set DID metadata of many files in one request (didclient.set_dids_metadata_bulk). */
  async setMetadata(dids: { scope: string; name: string; meta: DidMetadata }[]): Promise<void> {
    if (dids.length) await this.call('POST', '/dids/bulkdidsmeta', { dids, recursive: false }, [201]);
  }

  /** The embargo metadata of files already registered, after a release or a re-embargo. */
  async updateEmbargo(files: { path: string; campaign: string; embargo: EmbargoMetadata }[]): Promise<void> {
    await this.setMetadata(files.map((f) => {
      const { scope, name } = toRucioFile({ path: f.path, campaign: f.campaign, bytes: 0, adler32: '00000000' }, this.cfg);
      return { scope, name, meta: embargoMetadata(f.campaign, f.embargo) };
    }));
  }

  private async authenticate(): Promise<string> {
    const res = await this.fetch(`${this.cfg.authUrl ?? this.cfg.url}/auth/userpass`, {
      method: 'GET',
      headers: {
        'X-Rucio-Account': this.cfg.account!,
        'X-Rucio-Username': this.cfg.username!,
        'X-Rucio-Password': this.cfg.password!,
        'X-Rucio-AppID': 'campaign-guard',
      },
    });
    const token = res.headers.get('x-rucio-auth-token');
    if (res.status !== 200 || !token) throw await failure('authentication', res);
    return token;
  }

  private async call(method: string, path: string, body: unknown, ok: number[], retried = false): Promise<void> {
    this.token ??= await this.authenticate();
    const res = await this.fetch(`${this.cfg.url}${path}`, {
      method,
      headers: { 'X-Rucio-Auth-Token': this.token, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status === 401 && !retried) {
      this.token = undefined;
      return this.call(method, path, body, ok, true);
    }
    if (!ok.includes(res.status)) throw await failure(`${method} ${path}`, res);
    await res.body?.cancel();
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.cfg.timeoutMs) });
    } catch (err) {
      throw new RucioError(`Rucio at ${url} unreachable: ${(err as Error).message}`);
    }
  }
}

async function failure(what: string, res: Response): Promise<RucioError> {
  const exceptionClass = res.headers.get('x-rucio-exception-class') ?? undefined;
  const text = (await res.text().catch(() => '')).slice(0, 500);
  return new RucioError(`Rucio ${what} failed: HTTP ${res.status}${exceptionClass ? ` ${exceptionClass}` : ''} ${text}`.trim(), res.status, exceptionClass);
}
