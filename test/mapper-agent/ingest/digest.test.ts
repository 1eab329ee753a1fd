import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createLogger } from '../../../core/log.js';
import { sendQuarantineDigest } from '../../../mapper-agent/ingest/digest.js';
import { Journal } from '../../../mapper-agent/ingest/journal.js';

describe('mapper-agent/ingest/digest (a real SMTP server on loopback)', () => {
  it('mails the admins every file quarantined since the last digest, with its reason, once', async () => {
    const received: { to: string[]; data: string }[] = [];
    const server = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'],
      onData(stream, session, done) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
          done();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.server.address() as AddressInfo).port;
    const journal = new Journal(join(mkdtempSync(join(tmpdir(), 'cg-digest-')), 'journal.sqlite'), 'test');
    try {
      const ids = journal.plan([
        { path: '/data/a.fits', dev: 1, ino: 1, kind: 'quarantine', before: { uid: 0, gid: 0, mode: 0o644 }, target: { uid: 0, gid: 0, mode: 0o640 }, reason: 'unreadable FITS header: truncated' },
        { path: '/data/b.fits', dev: 1, ino: 2, kind: 'ingest', before: { uid: 0, gid: 0, mode: 0o644 }, target: { uid: 1, gid: 1, mode: 0o640 }, reason: 'CAMPAIGN = flare' },
      ]);
      journal.finish(ids.map((id) => ({ id, state: 'applied' as const })));
      const o = { journal, to: ['admin@example.org'], smtpUrl: `smtp://127.0.0.1:${port}`, from: 'agent@example.org', log: createLogger('test'), host: 'ingest1' };
      expect(await sendQuarantineDigest(o)).to.equal(1);
      expect(received).to.have.length(1);
      expect(received[0]!.to).to.deep.equal(['admin@example.org']);
      expect(received[0]!.data).to.include('Subject: campaign-guard on ingest1: 1 file quarantined').and.include('/data/a.fits').and.include('unreadable FITS header: truncated').and.not.include('/data/b.fits');
      expect(await sendQuarantineDigest(o), 'nothing new: no mail').to.equal(0);
      expect(received).to.have.length(1);
    } finally {
      journal.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
