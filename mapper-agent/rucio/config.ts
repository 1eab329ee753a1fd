import { z } from 'zod';
import { envBoolean } from '../../core/config.js';

/** agent.rucio: optional registration of ingested files in Rucio (off by default). */
export const rucioConfigSchema = z
  .object({
    enabled: envBoolean.default(false),
    /** Rucio server, e.g. https://rucio.example.org */
    url: z.string().url().optional(),
    /** Auth server when it differs from url. */
    authUrl: z.string().url().optional(),
    account: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    rse: z.string().regex(/^[A-Z0-9_-]+$/i, 'RSE names are letters, digits, _ and -').optional(),
    /** Scope for every file; "{campaign}" is replaced by the campaign name. */
    scope: z.string().min(1).max(25).default('{campaign}'),
    /** Dataset to attach each file to ("{campaign}" replaced); empty = do not attach. */
    dataset: z.string().default(''),
    /** Local data root -> PFN prefix, e.g. { "/pnfs/example.org/data": "davs://dcache.example.org:2880/pnfs/example.org/data" } */
    pfnPrefixes: z.record(z.string(), z.string().url()).default({}),
    timeoutMs: z.coerce.number().int().positive().default(10_000),
  })
  .superRefine((c, ctx) => {
    if (!c.enabled) return;
    for (const key of ['url', 'account', 'username', 'password', 'rse'] as const) {
      if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: `required when rucio is enabled` });
    }
    if (Object.keys(c.pfnPrefixes).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['pfnPrefixes'], message: 'at least one root -> PFN prefix when rucio is enabled' });
    }
  });

export type RucioConfig = z.infer<typeof rucioConfigSchema>;
