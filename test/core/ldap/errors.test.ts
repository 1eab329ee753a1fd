import { expect } from 'chai';
import { ResultCodeError } from 'ldapts';
import { ConflictError, DirectoryUnavailableError, ForbiddenError, NotFoundError, ValidationError } from '../../../core/errors.js';
import { LdapResult, ldapResultCode, translateLdapError } from '../../../core/ldap/errors.js';

/** ldapts makes the constructor protected; its subclasses are what slapd answers produce. */
class TestResultCodeError extends ResultCodeError {
  constructor(code: number) {
    super(code, `code ${code}`);
  }
}
const ldapError = (code: number) => new TestResultCodeError(code);

describe('core/ldap/errors', () => {
  it('maps each LDAP result code to the typed error, keeping the original as cause', () => {
    const cases: [number, Function][] = [
      [LdapResult.entryAlreadyExists, ConflictError], [LdapResult.attributeOrValueExists, ConflictError], [LdapResult.noSuchAttribute, ConflictError],
      [LdapResult.notAllowedOnNonLeaf, ConflictError], [LdapResult.noSuchObject, NotFoundError], [LdapResult.insufficientAccessRights, ForbiddenError],
      [LdapResult.strongerAuthRequired, ForbiddenError], [LdapResult.constraintViolation, ValidationError], [LdapResult.invalidDNSyntax, ValidationError],
      [LdapResult.objectClassViolation, ValidationError], [LdapResult.invalidCredentials, DirectoryUnavailableError], [LdapResult.busy, DirectoryUnavailableError],
      [LdapResult.unavailable, DirectoryUnavailableError], [LdapResult.sizeLimitExceeded, DirectoryUnavailableError], [LdapResult.other, DirectoryUnavailableError],
    ];
    for (const [code, type] of cases) {
      const original = ldapError(code);
      const e = translateLdapError(original, 'add uid=x');
      expect(e, String(code)).to.be.instanceOf(type);
      expect(e.cause).to.equal(original);
      expect(e.message).to.include('add uid=x');
      expect(ldapResultCode(e)).to.equal(code);
    }
  });

  it('passes project errors through and calls anything else the directory being unavailable', () => {
    const own = new NotFoundError('x');
    expect(translateLdapError(own, 'y')).to.equal(own);
    const e = translateLdapError(new Error('socket hang up'), 'search');
    expect(e).to.be.instanceOf(DirectoryUnavailableError);
    expect((e as DirectoryUnavailableError).dependency).to.equal('directory');
    expect(translateLdapError('weird', 'search').message).to.include('weird');
    expect(ldapResultCode(new Error('no code'))).to.equal(undefined);
  });
});
