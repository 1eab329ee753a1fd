/**
 * The one mail path of the portal and the agent: plain-text messages through the configured SMTP
 * transport (nodemailer), each saying why it was sent and linking to the page where the reader
 * can act. Without a transport (empty smtpUrl) a message is logged instead, so an operator can act
 * on it. Addresses are the caller's business: the portal only mails verified addresses.
 */
import { createTransport, type Transporter } from 'nodemailer';
import { MailUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';

export interface MailConfig {
  /** nodemailer URL, e.g. smtp://mail.example.org:25 or smtps://user:pass@host:465; empty = log only */
  smtpUrl: string;
  from: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  /** the body, without the closing lines (why, link), which are added here */
  text: string;
  /** why the reader gets this mail, completing "You received this mail because ..." */
  why: string;
  /** absolute URL of the page to act on */
  link?: string;
}

/** The plain-text body as sent: the text, the link, and why. */
export function composeText(m: MailMessage): string {
  const body = m.text.endsWith('\n') ? m.text : `${m.text}\n`;
  return `${body}${m.link ? `\n${m.link}\n` : ''}\n-- \nYou received this mail because ${m.why}.\n`;
}

/** No line breaks in a header value (a subject built from directory values). */
function headerSafe(s: string): string {
  return s.replace(/[\r\n\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200);
}

export class Mailer {
  private transport: Transporter | undefined;

  constructor(private readonly config: MailConfig, private readonly log: Logger) {}

  get enabled(): boolean {
    return !!this.config.smtpUrl;
  }

  /** Send (or, without a transport, log) one message; 'sent' or 'logged'. Throws MailUnavailableError when the server refuses or cannot be reached. */
  async send(m: MailMessage): Promise<'sent' | 'logged'> {
    const subject = headerSafe(m.subject);
    if (!this.config.smtpUrl) {
      this.log.warn({ to: m.to, subject, why: m.why }, 'mail (no SMTP transport configured: logged only)');
      return 'logged';
    }
    this.transport ??= createTransport(this.config.smtpUrl);
    try {
      await this.transport.sendMail({ from: this.config.from, to: m.to, subject, text: composeText(m) });
    } catch (err) {
      throw new MailUnavailableError(`the mail server refused or could not be reached: ${(err as Error).message}`, { cause: err });
    }
    this.log.info({ to: m.to, subject }, 'mail sent');
    return 'sent';
  }

  close(): void {
    this.transport?.close();
    this.transport = undefined;
  }
}
