import { expect } from 'chai';
import * as errors from '../../core/errors.js';
import { CampaignGuardError, ConfigError, DirectoryUnavailableError, errorCode, schemaIssues, ValidationError } from '../../core/errors.js';

const classes = Object.values(errors).filter((v): v is typeof CampaignGuardError => typeof v === 'function' && v.prototype instanceof Error);

describe('core/errors', () => {
  it('gives every error class a stable code, the same on the class and its instances, unique across classes', () => {
    const codes = new Set<string>();
    for (const C of classes) {
      const instance = C === errors.DependencyUnavailableError
        ? new errors.DependencyUnavailableError('mail', 'x')
        : new (C as unknown as new (m: string) => CampaignGuardError)('x');
      expect(instance.code, C.name).to.match(/^ERR_[A-Z_]+$/).and.equal((C as unknown as { code: string }).code);
      expect(instance.name, C.name).to.equal(C.name);
      codes.add(instance.code);
    }
    expect(codes.size).to.equal(classes.length);
  });

  it('keeps the cause and names the failing dependency', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new DirectoryUnavailableError('down', { cause });
    expect(e.cause).to.equal(cause);
    expect(e.dependency).to.equal('directory');
    expect(errorCode(e)).to.equal('ERR_DIRECTORY_UNAVAILABLE');
    expect(errorCode(Object.assign(new Error('x'), { code: 'ENOENT' }))).to.equal('ENOENT');
    expect(errorCode('text')).to.equal(undefined);
  });

  it('carries a list of issues on validation and configuration errors', () => {
    const v = ValidationError.of([{ path: 'a', message: 'one' }, { message: 'two' }]);
    expect(v.message).to.equal('one; two');
    expect(v.issues).to.have.length(2);
    expect(new ValidationError('single').issues).to.deep.equal([{ message: 'single' }]);
    expect(new ConfigError('bad', { issues: [{ path: 'ldap.url', message: 'not a URL' }] }).issues[0]!.path).to.equal('ldap.url');
    expect(schemaIssues({ issues: [{ path: ['portal', 'tls', 0], message: 'm' }, { path: [], message: 'top' }] })).to.deep.equal([{ path: 'portal.tls.0', message: 'm' }, { message: 'top' }]);
  });
});
