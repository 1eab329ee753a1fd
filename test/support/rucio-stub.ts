/**
 * A small local Rucio REST server for tests (Rucio itself cannot run here). It implements only what
 * campaign-guard calls, and checks every request against the shapes rucio-clients sends
 * (lib/rucio/client/{baseclient,replicaclient,didclient}.py): auth headers, token header, JSON bodies,
 * field types, adler32 format, status codes. Anything else is recorded as a violation and answered 400/404.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const did = z.object({ scope: z.string().min(1).max(25), name: z.string().min(1).max(250) }).strict();
const replicaFile = did
  .extend({
    bytes: z.number().int().nonnegative(),
    adler32: z.string().regex(/^[0-9a-f]{8}$/),
    pfn: z.string().url(),
    meta: z.record(z.string(), z.string()),
  })
  .strict();
const addReplicasBody = z.object({ rse: z.string().min(1), files: z.array(replicaFile).min(1), ignore_availability: z.boolean().optional() }).strict();
const addDidBody = z.object({ type: z.enum(['DATASET', 'CONTAINER']) }).passthrough();
const attachBody = z.object({ dids: z.array(did).min(1), rse: z.string().optional() }).strict();
// didclient.set_dids_metadata_bulk: {dids: [{scope, name, meta: {key: value}}], recursive}
const didsMetaBody = z.object({ dids: z.array(did.extend({ meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])) }).strict()).min(1), recursive: z.boolean() }).strict();

export interface RucioStub {
  url: string;
  replicas: Map<string, z.infer<typeof replicaFile> & { rse: string }>;
  datasets: Map<string, Set<string>>;
  /** scope:name -> the DID's metadata as set so far */
  meta: Map<string, Record<string, unknown>>;
  violations: string[];
  authCount: number;
  /** Make every issued token invalid (the next call gets 401, as after expiry). */
  expireTokens(): void;
  close(): Promise<void>;
}

export async function startRucioStub(account = { account: 'cg', username: 'cg-agent', password: 's3cret' }): Promise<RucioStub> {
  const tokens = new Set<string>();
  const stub = {
    replicas: new Map(),
    datasets: new Map<string, Set<string>>(),
    meta: new Map<string, Record<string, unknown>>(),
    violations: [] as string[],
    authCount: 0,
  } as RucioStub;

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body = '', headers: Record<string, string> = {}) => {
      res.writeHead(status, headers);
      res.end(body);
    };
    const violation = (status: number, what: string, exceptionClass = 'InvalidObject') => {
      stub.violations.push(`${req.method} ${req.url}: ${what}`);
      send(status, JSON.stringify({ ExceptionClass: exceptionClass, ExceptionMessage: what }), { 'X-Rucio-Exception-Class': exceptionClass });
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;

    if (req.method === 'GET' && path === '/auth/userpass') {
      const h = req.headers;
      if (h['x-rucio-account'] !== account.account || h['x-rucio-username'] !== account.username || h['x-rucio-password'] !== account.password) {
        return violation(401, 'wrong or missing X-Rucio-Account/-Username/-Password', 'CannotAuthenticate');
      }
      stub.authCount++;
      const token = `${account.account}-${randomBytes(12).toString('hex')}`;
      tokens.add(token);
      return send(200, '', { 'X-Rucio-Auth-Token': token, 'X-Rucio-Auth-Token-Expires': new Date(Date.now() + 3600e3).toUTCString() });
    }

    const token = req.headers['x-rucio-auth-token'];
    if (typeof token !== 'string' || !tokens.has(token)) {
      return send(401, JSON.stringify({ ExceptionClass: 'CannotAuthenticate' }), { 'X-Rucio-Exception-Class': 'CannotAuthenticate' });
    }
    if (req.method !== 'POST') return violation(404, 'unexpected method');
    if (!String(req.headers['content-type']).startsWith('application/json')) return violation(400, 'body must be application/json');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return violation(400, 'body is not JSON');
    }

    if (path === '/replicas') {
      const parsed = addReplicasBody.safeParse(body);
      if (!parsed.success) return violation(400, `add_replicas body: ${parsed.error.message}`);
      for (const f of parsed.data.files) {
        const key = `${parsed.data.rse}:${f.scope}:${f.name}`;
        if (stub.replicas.has(key)) return violation(409, `replica ${key} exists`, 'Duplicate');
      }
      for (const f of parsed.data.files) stub.replicas.set(`${parsed.data.rse}:${f.scope}:${f.name}`, { ...f, rse: parsed.data.rse });
      return send(201, 'Created');
    }
    if (path === '/dids/bulkdidsmeta') {
      const parsed = didsMetaBody.safeParse(body);
      if (!parsed.success) return violation(400, `set_dids_metadata_bulk body: ${parsed.error.message}`);
      for (const d of parsed.data.dids) {
        const key = `${d.scope}:${d.name}`;
        if (![...stub.replicas.values()].some((r) => `${r.scope}:${r.name}` === key)) return violation(404, `DID ${key} not found`, 'DataIdentifierNotFound');
        stub.meta.set(key, { ...(stub.meta.get(key) ?? {}), ...d.meta });
      }
      return send(201, 'Created');
    }
    const didMatch = /^\/dids\/([^/]+)\/([^/]+)(\/dids)?$/.exec(path);
    if (didMatch) {
      const key = `${decodeURIComponent(didMatch[1]!)}:${decodeURIComponent(didMatch[2]!)}`;
      if (!didMatch[3]) {
        if (!addDidBody.safeParse(body).success) return violation(400, 'add_did body needs type');
        if (stub.datasets.has(key)) return send(409, '', { 'X-Rucio-Exception-Class': 'DataIdentifierAlreadyExists' });
        stub.datasets.set(key, new Set());
        return send(201, 'Created');
      }
      const parsed = attachBody.safeParse(body);
      if (!parsed.success) return violation(400, `attach_dids body: ${parsed.error.message}`);
      const content = stub.datasets.get(key);
      if (!content) return violation(404, `dataset ${key} not found`, 'DataIdentifierNotFound');
      for (const d of parsed.data.dids) content.add(`${d.scope}:${d.name}`);
      return send(201, 'Created');
    }
    return violation(404, 'no such endpoint');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.expireTokens = () => tokens.clear();
  stub.close = () => new Promise((resolve) => server.close(() => resolve()));
  return stub;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
