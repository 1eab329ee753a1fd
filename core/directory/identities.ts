/**
 * Identities (X.509 subjects, OIDC issuer+sub) bound to people. Each identity is one entry whose
 * RDN is the sha256 of its reference, so binding is a single LDAP add: of two racing binds of the
 * same identity exactly one succeeds, the other gets entryAlreadyExists.
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { filter } from '../ldap/escape.js';
import type { DirectoryContext } from './context.js';
import { decodeIdentity, IDENTITY_ATTRIBUTES } from './decode.js';
import { decodeAll, decodeOne } from './decoded.js';
import { checkIdentityRef, describeIdentity } from './identity-ref.js';
import { identityKey } from './layout.js';
import type { Identity, IdentityInput, IdentityRef, IdentityStatus } from './model.js';
import type { PeopleStore } from './people.js';
import { toGeneralizedTime } from './time.js';
import { checkCertSubject } from './validate.js';

/** The identity is bound to a different account. The owner is kept for logs, not the message. */
export class IdentityBoundElsewhereError extends ConflictError {
  constructor(
    readonly ref: IdentityRef,
    readonly ownerDn: string,
  ) {
    super(`this ${ref.type === 'x509' ? 'certificate subject' : 'OIDC identity'} is already bound to another account`);
  }
  static override code = 'ERR_IDENTITY_BOUND_ELSEWHERE';
  override readonly code = 'ERR_IDENTITY_BOUND_ELSEWHERE';
}

export class IdentityStore {
  constructor(
    private readonly ctx: DirectoryContext,
    private readonly people: PeopleStore,
  ) {}

  /**
   * Bind an identity to a person. Idempotent when it is already bound to the same person
   * (refreshes issuer/notAfter); IdentityBoundElsewhereError (a ConflictError) when bound to
   * another. A revoked identity stays revoked: re-activating it is setStatus's job.
   */
  async bind(username: string, input: IdentityInput): Promise<Identity> {
    const ref = checkIdentityRef(input);
    const person = await this.people.require(username);
    const key = identityKey(ref);
    const dn = this.ctx.layout.identityDn(key);
    await this.ctx.allocator.assertDesignatedWriter(describeIdentity(ref));
    const attrs: Record<string, string | string[]> = {
      objectClass: ['top', 'cgIdentity'],
      cgIdentityKey: key,
      cgIdentityType: ref.type,
      cgOwner: person.dn,
      voPersonStatus: 'active',
    };
    if (input.type === 'x509') {
      attrs.cgCertSubject = ref.subject;
      const forms = [...new Set((input.forms ?? []).filter((f) => f !== ref.subject))].map((f) => checkCertSubject('certificate subject form', f));
      if (forms.length) attrs.cgCertSubjectForm = forms;
      await this.refuseFormsHeldElsewhere(forms, person.dn, ref.subject);
      if (input.issuer !== undefined) attrs.cgCertIssuer = checkCertSubject('certificate issuer', input.issuer);
      if (input.notAfter !== undefined) attrs.cgCertNotAfter = toGeneralizedTime(input.notAfter);
    } else {
      attrs.cgOidcIssuer = input.issuer;
      attrs.cgOidcSubject = input.subject;
    }
    try {
      await this.ctx.ldap.add(dn, attrs);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // Someone bound it first: same person (a retry) is fine, anyone else is a conflict.
      const existing = await this.getByKey(key);
      if (!existing) throw new ConflictError(`${describeIdentity(ref)} is being changed concurrently; try again`, { cause: err });
      if (!(await this.ownedBy(dn, person.dn))) throw new IdentityBoundElsewhereError(ref, existing.ownerDn);
      if (input.type === 'x509' && (input.issuer !== undefined || input.notAfter !== undefined)) {
        await this.ctx.ldap.modify(dn, [
          ...(input.issuer !== undefined ? [{ operation: 'replace' as const, attribute: 'cgCertIssuer', values: [input.issuer] }] : []),
          ...(input.notAfter !== undefined
            ? [{ operation: 'replace' as const, attribute: 'cgCertNotAfter', values: [toGeneralizedTime(input.notAfter)] }]
            : []),
        ]);
      }
    }
    return (await this.getByKey(key))!;
  }

  /**
   * Another account's identity whose subject, or one of whose other forms, is one of these grid DNs:
   * dCache could match both with one login (on JDK 17 or 21), so the binding is refused.
   */
  private async refuseFormsHeldElsewhere(forms: string[], ownerDn: string, subject?: string): Promise<void> {
    // The subject itself held by another account is the add's conflict (IdentityBoundElsewhereError); here: it as another's form.
    const wanted: [string, boolean][] = [...forms.map((f) => [f, true] as [string, boolean]), ...(subject ? [[subject, false] as [string, boolean]] : [])];
    for (const [form, asSubjectToo] of wanted) {
      const f = asSubjectToo ? filter`(&(objectClass=cgIdentity)(|(cgCertSubject=${form})(cgCertSubjectForm=${form})))` : filter`(&(objectClass=cgIdentity)(cgCertSubjectForm=${form}))`;
      const entries = await this.ctx.ldap.search(this.ctx.layout.identities, { scope: 'one', filter: f, attributes: IDENTITY_ATTRIBUTES });
      for (const other of decodeAll(entries, decodeIdentity, this.ctx.layout)) {
        // slapd's caseExactMatch folds insignificant spaces; dCache compares exactly.
        const exact = (asSubjectToo && other.certSubject === form) || (other.certSubjectForms ?? []).includes(form);
        if (exact && other.ownerDn.toLowerCase() !== ownerDn.toLowerCase()) {
          throw new ConflictError(`dCache may read this certificate's subject as ${form}, which an identity of another account already uses; this certificate cannot be bound`);
        }
      }
    }
  }

  /**
   * What a certificate login showed of a bound subject: its issuer now, and its notAfter, kept only
   * when later than the one stored (a renewed certificate extends it; an old one presented again
   * does not shorten it). Returns the issuer stored before when it changed.
   */
  async refreshCertificate(identity: Identity, seen: { issuer?: string; notAfter?: Date; forms?: string[] }): Promise<{ issuerChangedFrom?: string }> {
    const mods: { operation: 'replace'; attribute: string; values: string[] }[] = [];
    // Identities bound before their other forms were kept learn them at the next login (unless another account holds one).
    const forms = (seen.forms ?? []).filter((f) => f !== identity.certSubject && !(identity.certSubjectForms ?? []).includes(f));
    if (forms.length) {
      await this.refuseFormsHeldElsewhere(forms, identity.ownerDn);
      mods.push({ operation: 'replace', attribute: 'cgCertSubjectForm', values: [...new Set([...(identity.certSubjectForms ?? []), ...forms.map((f) => checkCertSubject('certificate subject form', f))])] });
    }
    if (seen.issuer !== undefined && seen.issuer !== identity.certIssuer) mods.push({ operation: 'replace', attribute: 'cgCertIssuer', values: [checkCertSubject('certificate issuer', seen.issuer)] });
    if (seen.notAfter !== undefined && (!identity.certNotAfter || seen.notAfter > identity.certNotAfter)) mods.push({ operation: 'replace', attribute: 'cgCertNotAfter', values: [toGeneralizedTime(seen.notAfter)] });
    if (mods.length) await this.ctx.ldap.modify(identity.dn, mods);
    return seen.issuer !== undefined && identity.certIssuer !== undefined && seen.issuer !== identity.certIssuer ? { issuerChangedFrom: identity.certIssuer } : {};
  }

  /** Remove the binding. NotFoundError if the identity is not bound to this person. */
  async unbind(username: string, refInput: IdentityRef): Promise<void> {
    const ref = checkIdentityRef(refInput);
    const person = await this.people.require(username);
    const dn = this.ctx.layout.identityDn(identityKey(ref));
    if (!(await this.ownedBy(dn, person.dn))) throw new NotFoundError(`${describeIdentity(ref)} is not bound to ${username}`);
    await this.ctx.ldap.delete(dn);
  }

  /** The identity with its owner, or undefined when not bound. */
  async get(refInput: IdentityRef): Promise<Identity | undefined> {
    return this.getByKey(identityKey(checkIdentityRef(refInput)));
  }

  async getByKey(key: string): Promise<Identity | undefined> {
    if (!/^[0-9a-f]{64}$/.test(key)) return undefined;
    const entry = await this.ctx.ldap.read(this.ctx.layout.identityDn(key), IDENTITY_ATTRIBUTES);
    return decodeOne(entry, decodeIdentity, this.ctx.layout);
  }

  async listForPerson(username: string): Promise<Identity[]> {
    const person = await this.people.require(username);
    return this.listForOwnerDn(person.dn);
  }

  async listForOwnerDn(ownerDn: string): Promise<Identity[]> {
    const entries = await this.ctx.ldap.search(this.ctx.layout.identities, {
      scope: 'one',
      filter: filter`(&(objectClass=cgIdentity)(cgOwner=${ownerDn}))`,
      attributes: IDENTITY_ATTRIBUTES,
    });
    return decodeAll(entries, decodeIdentity, this.ctx.layout);
  }

  /** Every identity, page by page (for the agent's full scan). */
  async *all(pageSize = 1000): AsyncGenerator<Identity[]> {
    for await (const page of this.ctx.ldap.searchPages(this.ctx.layout.identities, {
      scope: 'one',
      filter: '(objectClass=cgIdentity)',
      attributes: IDENTITY_ATTRIBUTES,
      pageSize,
    })) {
      yield decodeAll(page, decodeIdentity, this.ctx.layout);
    }
  }

  async setStatus(refInput: IdentityRef, status: IdentityStatus): Promise<void> {
    if (status !== 'active' && status !== 'revoked') throw new ValidationError(`invalid identity status ${String(status)}`);
    const ref = checkIdentityRef(refInput);
    await this.ctx.ldap
      .modify(this.ctx.layout.identityDn(identityKey(ref)), [{ operation: 'replace', attribute: 'voPersonStatus', values: [status] }])
      .catch((err: unknown) => {
        if (err instanceof NotFoundError) throw new NotFoundError(`${describeIdentity(ref)} is not bound`, { cause: err });
        throw err;
      });
  }

  /** Server-side DN comparison (distinguishedNameMatch), immune to case and spacing differences. */
  private async ownedBy(identityDn: string, personDn: string): Promise<boolean> {
    try {
      return await this.ctx.ldap.compare(identityDn, 'cgOwner', personDn);
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }
}
