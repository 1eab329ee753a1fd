import { z } from 'zod';
import { envBoolean } from '../../core/config.js';

/**
 * agent.traces: signed traces of every ownership/mode decision the agent applies (docs/traces.md).
 * Off by default. A site uses its IGTF host certificate and key; `traces verify` reads the same
 * trust directory the portal and dCache read.
 */
export const tracesConfigSchema = z
  .object({
    enabled: envBoolean.default(false),
    /** The agent host's X.509 certificate (PEM; intermediates may follow it in the same file). */
    certFile: z.string().min(1).default('/etc/grid-security/hostcert.pem'),
    /** Its private key (PEM, PKCS#8 or PKCS#1, unencrypted; readable by root only). */
    keyFile: z.string().min(1).default('/etc/grid-security/hostkey.pem'),
    /** The trace store; empty: <agent.stateDir>/traces.sqlite. */
    file: z.string().default(''),
    /** Records per signed batch (one Merkle tree, one CMS signature). A command seals what is left when it ends. */
    batchSize: z.coerce.number().int().min(1).max(65536).default(1024),
    /** For `traces verify`: trust anchors (an IGTF directory of HASH.N files, or PEM files). */
    caPaths: z.array(z.string().min(1)).default(['/etc/grid-security/certificates']),
    /** For `traces verify`: CRLs (an IGTF directory of HASH.rN files, or PEM files); empty: the caPaths. */
    crlPaths: z.array(z.string().min(1)).default([]),
    /** require: every CA on the signer's path needs a valid, unexpired CRL (dCache's crl-mode=REQUIRE); if-present: checked when there is one. */
    crlMode: z.enum(['require', 'if-present']).default('require'),
  })
  .strict();

export type TracesConfig = z.infer<typeof tracesConfigSchema>;
