/**
 * A minimal browser stand-in for portal tests over real TLS: keeps cookies, presents a client
 * certificate (optionally a chain), follows redirects on request, and reads CSRF tokens from the
 * page the way a form submission would carry them.
 */
import { request } from 'node:https';

export interface Response {
  status: number;
  location?: string;
  body: string;
  /** the body's bytes (downloads) */
  raw: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export class PortalClient {
  private readonly jar = new Map<string, string>();

  constructor(private readonly base: string, private readonly tls: { ca: string; cert?: string; key?: string }) {}

  async get(path: string, opts: { follow?: boolean; headers?: Record<string, string> } = {}): Promise<Response> {
    return this.send('GET', path, undefined, opts);
  }

  /** POST a form; `csrfFrom` names a page to take the token from (the way a browser submits the page's form). */
  async post(path: string, form: Record<string, string>, opts: { csrfFrom?: string; follow?: boolean; noCsrf?: boolean; headers?: Record<string, string> } = {}): Promise<Response> {
    const body = new URLSearchParams(form);
    if (!opts.noCsrf && !form._csrf) body.set('_csrf', await this.csrf(opts.csrfFrom ?? '/account'));
    return this.send('POST', path, body.toString(), { follow: opts.follow, headers: { ...opts.headers, 'content-type': 'application/x-www-form-urlencoded' } });
  }

  /** Drop every cookie: the session has ended, as after eight idle hours. */
  forgetCookies(): void {
    this.jar.clear();
  }

  /** A JSON API call (bearer token in `headers`; no cookies needed, no CSRF). */
  async json(method: 'POST' | 'PUT' | 'DELETE', path: string, value: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(method, path, JSON.stringify(value), { headers: { ...headers, 'content-type': 'application/json' } });
  }

  async csrf(page: string): Promise<string> {
    const r = await this.get(page);
    const m = /name="_csrf" value="([^"]+)"/.exec(r.body);
    if (!m) throw new Error(`no CSRF token on ${page} (HTTP ${r.status})`);
    return m[1]!;
  }

  private async send(method: string, path: string, body: string | undefined, opts: { follow?: boolean; headers?: Record<string, string> }): Promise<Response> {
    let r = await this.once(method, path, body, opts.headers ?? {});
    for (let hops = 0; opts.follow && r.location && hops < 10; hops++) r = await this.once('GET', r.location, undefined, {});
    return r;
  }

  private once(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Response> {
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method, ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, servername: 'localhost',
        headers: { ...headers, cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') },
      }, (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const [pair] = c.split(';');
          const eq = pair!.indexOf('=');
          this.jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
        }
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}), body: raw.toString('utf8'), raw, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

export function decodeHtml(s: string): string {
  return s.replace(/&#x3D;/g, '=').replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/').replace(/&#x60;/g, '`').replace(/&amp;/g, '&');
}
