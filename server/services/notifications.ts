/**
 * Who is told what, by e-mail: a new join request -> the campaign's PI; a decision with its
 * reason -> the requester; a certificate expiring in 30/7/1 days -> its owner. One mail path
 * (core/mail/mailer.ts, shared with the agent's embargo notices); plain text, saying why it was
 * sent and linking to the page to act on.
 *
 * Mail goes only to verified addresses: an address is verified by opening a link mailed to it
 * (the verification mail is the only one an unverified address gets). Verifications and the
 * notices already sent live in SQLite beside the sessions (portal.dataDir); a token is stored
 * only as its SHA-256. A failed delivery never undoes the change it reports: it is logged.
 */
import type Database from 'better-sqlite3';
import { openLocalDatabase } from '../local-database.js';
import { createHash, randomBytes } from 'node:crypto';
import type { Directory, Person } from '../../core/directory/index.js';
import type { Logger } from '../../core/log.js';
import { Mailer, type MailConfig } from '../../core/mail/mailer.js';
import { expiryWarning } from './lifecycle.js';

export interface PersonMail {
  subject: string;
  text: string;
  /** completes "You received this mail because ..." */
  why: string;
  /** portal path to act on, e.g. /campaigns/flare */
  path: string;
}

export type Delivery = 'sent' | 'logged' | 'unverified' | 'no-address' | 'failed';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class Notifier {
  private readonly db: Database.Database;
  private readonly mailer: Mailer;

  constructor(
    file: string,
    private readonly directory: Directory,
    private readonly config: MailConfig & { verifyHours: number },
    private readonly publicUrl: string,
    private readonly log: Logger,
  ) {
    this.db = openLocalDatabase(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS mail_tokens (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, address TEXT NOT NULL, expires INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS mail_verified (username TEXT NOT NULL, address TEXT NOT NULL, verified_at TEXT NOT NULL, PRIMARY KEY (username, address));
      CREATE TABLE IF NOT EXISTS notices_sent (kind TEXT NOT NULL, key TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (kind, key));`);
    this.mailer = new Mailer(config, log);
  }

  link(path: string): string {
    return new URL(path, this.publicUrl).toString();
  }

  isVerified(person: Pick<Person, 'username' | 'mail'>): boolean {
    if (!person.mail) return false;
    return !!this.db.prepare('SELECT 1 FROM mail_verified WHERE username = ? AND address = ?').get(person.username, person.mail.toLowerCase());
  }

  /** Mail a fresh verification link to the person's current address. */
  async sendVerification(person: Pick<Person, 'username' | 'mail'>): Promise<Delivery> {
    if (!person.mail) return 'no-address';
    const token = randomBytes(32).toString('base64url');
    this.db.prepare('INSERT INTO mail_tokens (token_hash, username, address, expires) VALUES (?, ?, ?, ?)')
      .run(sha256(token), person.username, person.mail.toLowerCase(), Date.now() + this.config.verifyHours * 3600_000);
    return this.deliver(person.mail, {
      subject: 'Confirm your e-mail address for campaign-guard',
      text: `Please confirm that ${person.mail} is the address of the storage account ${person.username}: open the link below and press "Confirm".\n` +
        `The link is valid for ${this.config.verifyHours} hours. Until you confirm, the portal sends no other mail to this address.\n` +
        'If you did not register, ignore this mail.\n',
      why: `this address was given for the account ${person.username} on the campaign-guard registration portal`,
      path: `/verify-email/${token}`,
    });
  }

  /** The account a token verifies, without using it up (for the confirmation page). */
  peek(token: string): { username: string; address: string } | undefined {
    const row = this.db.prepare('SELECT username, address, expires FROM mail_tokens WHERE token_hash = ?').get(sha256(token)) as { username: string; address: string; expires: number } | undefined;
    return row && row.expires > Date.now() ? { username: row.username, address: row.address } : undefined;
  }

  /** Use a token: the address is verified if it is still the account's address. */
  async confirm(token: string): Promise<{ username: string; address: string } | undefined> {
    const found = this.peek(token);
    this.db.prepare('DELETE FROM mail_tokens WHERE token_hash = ? OR expires <= ?').run(sha256(token), Date.now());
    if (!found) return undefined;
    const person = await this.directory.people.get(found.username);
    if (!person?.mail || person.mail.toLowerCase() !== found.address) return undefined;
    this.db.prepare('INSERT OR IGNORE INTO mail_verified (username, address, verified_at) VALUES (?, ?, ?)').run(found.username, found.address, new Date().toISOString());
    return found;
  }

  /** Tell a person, if their address is verified. Never throws: a failed delivery is logged. */
  async toPerson(username: string, m: PersonMail): Promise<Delivery> {
    const person = await this.directory.people.get(username).catch(() => undefined);
    if (!person?.mail) return 'no-address';
    if (!this.isVerified(person)) {
      this.log.info({ to: username, subject: m.subject }, 'mail not sent: address not verified');
      return 'unverified';
    }
    return this.deliver(person.mail, m);
  }

  /**
   * Certificates whose latest known expiry is within 30/7/1 days: one mail per certificate,
   * expiry date and threshold. Returns the subjects told.
   */
  async certificateExpiryNotices(now = new Date()): Promise<string[]> {
    const told: string[] = [];
    for await (const page of this.directory.people.all()) {
      for (const person of page) {
        if (person.status !== 'active') continue;
        for (const identity of await this.directory.identities.listForPerson(person.username)) {
          if (identity.type !== 'x509' || identity.status !== 'active') continue;
          const w = expiryWarning(identity.certNotAfter, now);
          if (!w || w.threshold === 0) continue;
          const key = `${identity.key} ${identity.certNotAfter!.toISOString()} ${w.threshold}`;
          if (this.db.prepare('SELECT 1 FROM notices_sent WHERE kind = ? AND key = ?').get('certificate-expiry', key)) continue;
          const delivery = await this.toPerson(person.username, {
            subject: `Your certificate ${w.days <= 1 ? 'expires very soon' : `expires in ${w.days} days`}`,
            text: `Your certificate\n  ${identity.certSubject}\n${w.text}.\n` +
              'A renewed certificate with the same subject needs nothing else: your account and storage access continue. ' +
              'A certificate with a different subject must be bound on your account page while you are logged in.\n',
            why: `the certificate is bound to your storage account ${person.username}`,
            path: '/account',
          });
          if (delivery === 'sent' || delivery === 'logged') {
            this.db.prepare('INSERT OR IGNORE INTO notices_sent (kind, key, sent_at) VALUES (?, ?, ?)').run('certificate-expiry', key, new Date().toISOString());
            told.push(identity.certSubject ?? identity.key);
          }
        }
      }
    }
    return told;
  }

  /** Whether a notice of this kind and key was recorded as sent. */
  wasSent(kind: string, key: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM notices_sent WHERE kind = ? AND key = ?').get(kind, key);
  }

  recordSent(kind: string, key: string): void {
    this.db.prepare('INSERT OR IGNORE INTO notices_sent (kind, key, sent_at) VALUES (?, ?, ?)').run(kind, key, new Date().toISOString());
  }

  private async deliver(to: string, m: PersonMail): Promise<Delivery> {
    try {
      return await this.mailer.send({ to, subject: m.subject, text: m.text, why: m.why, link: this.link(m.path) });
    } catch (err) {
      this.log.error({ err, to, subject: m.subject }, 'mail not delivered');
      return 'failed';
    }
  }

  close(): void {
    this.mailer.close();
    this.db.close();
  }
}
