/**
 * The signed compliance document is untrusted input to the portal: its CMS wrapper
 * (verifyAttached) and its JSON (complianceDocumentSchema) must end in a value or a refusal for
 * any bytes, never in an exception; a changed byte never yields other content as verified.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { complianceDocumentSchema, COMPLIANCE_FORMAT } from '../../../core/embargo/compliance-envelope.js';
import { complianceDocuments, signDocuments } from '../../../mapper-agent/ingest/publish.js';
import { loadSigner, verifyAttached, type Signer } from '../../../core/pki/cms.js';
import { createCa, issue } from '../../support/pki.js';

describe('core/embargo/compliance-envelope (untrusted: the portal parses it)', function () {
  this.timeout(60000);
  let signer: Signer;
  const report = {
    generatedAt: '2026-12-01T10:00:00.000Z', quarantined: 2,
    campaigns: [{ campaign: 'corona', files: 4, closed: 3, public: 1, drift: 1, released: { files: 0, last: null, runs: [] }, reembargoed: { files: 1, last: '2026-11-30T09:00:00.000Z', runs: [7] } }],
  };

  before(async () => {
    const ca = await createCa([{ CN: ['Envelope Test CA'] }]);
    const host = await issue(ca, [{ CN: ['store1.example.org'] }], 'server', { dnsNames: ['store1.example.org'] });
    const dir = mkdtempSync(join(tmpdir(), 'cg-envelope-'));
    writeFileSync(join(dir, 'c.pem'), host.certPem);
    writeFileSync(join(dir, 'k.pem'), host.keyPem);
    signer = loadSigner(join(dir, 'c.pem'), join(dir, 'k.pem'));
  });

  it('a document round-trips through its signature', async () => {
    const [doc] = complianceDocuments(report, { host: signer.host, site: 'S', traces: null });
    expect(doc).to.deep.include({ format: COMPLIANCE_FORMAT, version: 1, host: 'store1.example.org', quarantined: 2 });
    const [der] = signDocuments([doc!], signer);
    const check = await verifyAttached(der!);
    expect(check.ok, check.problem).to.equal(true);
    expect(JSON.parse(check.content!.toString('utf8'))).to.deep.equal(doc);
  });

  it('any bytes: verifyAttached answers (never throws), and never with content for random input', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
      const r = await verifyAttached(bytes);
      expect(r.ok).to.equal(false);
      expect(r.content).to.equal(undefined);
    }), { seed: 20261202, numRuns: 300 });
  });

  it('a changed byte anywhere: refused, or the very same content (never other figures as verified)', async () => {
    const [doc] = complianceDocuments(report, { host: signer.host, site: 'S', traces: null });
    const [der] = signDocuments([doc!], signer);
    const original = Buffer.from(JSON.stringify(doc));
    await fc.assert(fc.asyncProperty(fc.nat({ max: der!.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
      const changed = Buffer.from(der!);
      changed[at] = changed[at]! ^ xor;
      const r = await verifyAttached(changed);
      if (r.ok) expect(r.content!.equals(original)).to.equal(true);
    }), { seed: 20261202, numRuns: 200 });
  });

  it('any JSON: the schema parses or refuses, never throws', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const r = complianceDocumentSchema.safeParse(v);
      expect(r.success).to.equal(false);
    }), { seed: 20261202, numRuns: 500 });
    const [doc] = complianceDocuments(report, { host: signer.host, site: 'S', traces: null });
    fc.assert(fc.property(fc.constantFrom('files', 'closed', 'public', 'drift'), fc.oneof(fc.constant(-1), fc.constant(1.5), fc.constant('3'), fc.constant(null)), (key, bad) => {
      expect(complianceDocumentSchema.safeParse({ ...doc, figures: { ...doc!.figures, [key]: bad } }).success).to.equal(false);
    }), { seed: 20261202, numRuns: 50 });
    expect(complianceDocumentSchema.safeParse({ ...doc, extra: 1 }).success, 'unknown keys').to.equal(false);
    expect(complianceDocumentSchema.safeParse({ ...doc, generatedAt: '2026-02-30T00:00:00Z' }).success, 'not a time').to.equal(false);
  });
});
