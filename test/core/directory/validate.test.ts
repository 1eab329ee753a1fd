import { expect } from 'chai';
import fc from 'fast-check';
import { ValidationError } from '../../../core/errors.js';
import {
  checkCampaignName, checkCertSubject, checkLoginShell, checkMail, checkOidcIssuer, checkOidcSubject, checkRole, checkText, checkUsername, NAME_PATTERN,
} from '../../../core/directory/validate.js';

const refuses = (fn: () => unknown, pattern?: RegExp) => expect(fn).to.throw(ValidationError, pattern);

describe('core/directory/validate', () => {
  it('accepts usernames and campaign names dCache can use unescaped, and nothing else', () => {
    for (const ok of ['a', 'alice', 'a.b_c-d9', 'x'.repeat(32)]) {
      expect(checkUsername(ok)).to.equal(ok);
      expect(checkCampaignName(ok)).to.equal(ok);
    }
    for (const bad of ['', 'Alice', '9lives', '-a', 'a b', 'a,b', 'x'.repeat(33), 'jürgen', 'a*']) {
      refuses(() => checkUsername(bad), /invalid username/);
      refuses(() => checkCampaignName(bad), /invalid campaign name/);
    }
    refuses(() => checkUsername(42 as unknown as string));
  });

  it('keeps free text literal but refuses blanks, control characters, lone surrogates and long values', () => {
    expect(checkText('cn', '*)(uid=*) a\\b, "c"')).to.equal('*)(uid=*) a\\b, "c"');
    expect(checkText('description', 'two\nlines', 100, true)).to.equal('two\nlines');
    refuses(() => checkText('cn', '   '), /must not be empty/);
    refuses(() => checkText('cn', 'a\nb'), /line breaks/);
    refuses(() => checkText('cn', 'a\u0007b', 100, true), /control characters/);
    refuses(() => checkText('cn', 'x'.repeat(257)), /longer than 256/);
    refuses(() => checkText('cn', 'a\ud800b'), /not valid Unicode/);
    refuses(() => checkText('cn', null as unknown as string), /must be a string/);
  });

  it('checks mail, login shells and roles', () => {
    expect(checkMail('a@example.org')).to.equal('a@example.org');
    refuses(() => checkMail('a@b'), /e-mail/);
    expect(checkLoginShell('/bin/bash')).to.equal('/bin/bash');
    refuses(() => checkLoginShell('bash'), /login shell/);
    refuses(() => checkLoginShell('/bin/sh;rm'), /login shell/);
    expect(checkRole('admin')).to.equal('admin');
    refuses(() => checkRole('Admin'), /invalid role/);
  });

  it('checks grid subjects, OIDC issuers (https, http only on loopback) and subjects', () => {
    expect(checkCertSubject('subject', '/C=DE/CN=A')).to.equal('/C=DE/CN=A');
    refuses(() => checkCertSubject('subject', 'CN=A,C=DE'), /grid slash-form/);
    expect(checkOidcIssuer('https://iam.example.org/')).to.equal('https://iam.example.org/');
    expect(checkOidcIssuer('http://127.0.0.1:8080/')).to.equal('http://127.0.0.1:8080/');
    refuses(() => checkOidcIssuer('http://iam.example.org/'), /https/);
    refuses(() => checkOidcIssuer('not a url'), /not a URL/);
    expect(checkOidcSubject('a@b c')).to.equal('a@b c');
    refuses(() => checkOidcSubject(''), /1-255/);
    refuses(() => checkOidcSubject('x'.repeat(256)), /1-255/);
    refuses(() => checkOidcSubject('jürgen'), /ASCII/);
  });

  it('ends any input in the value or a ValidationError (property)', () => {
    const checks: ((v: string) => string)[] = [checkUsername, checkCampaignName, (v) => checkText('t', v), checkMail, checkLoginShell, checkRole, (v) => checkCertSubject('s', v), checkOidcIssuer, checkOidcSubject];
    fc.assert(fc.property(fc.string({ maxLength: 300, unit: 'binary' }), fc.integer({ min: 0, max: checks.length - 1 }), (value, i) => {
      try {
        expect(checks[i]!(value)).to.equal(value);
      } catch (err) {
        expect(err).to.be.instanceOf(ValidationError);
      }
    }), { seed: 19, numRuns: 500 });
    fc.assert(fc.property(fc.stringMatching(NAME_PATTERN), (name) => void expect(checkUsername(name)).to.equal(name)), { seed: 19, numRuns: 200 });
  });
});
