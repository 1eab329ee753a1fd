/**
 * The IGTF trust directory's file names come from OpenSSL (`openssl rehash`, c_rehash, the IGTF
 * packages): the hash must be OpenSSL's own, so the reference here is `openssl x509 -subject_hash`
 * on certificates OpenSSL made with awkward names (case, white space, UTF-8, multi-valued RDNs).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { opensslSubjectHash } from '../../../core/pki/subject-hash.js';

describe('core/pki/subject-hash (against openssl x509 -subject_hash)', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'cg-hash-'));
  const subjects = [
    '/C=DE/O=GridKa/CN=GridKa-CA',
    '/DC=org/DC=terena/DC=tcs/C=NL/O=Example  Org/CN=  Mixed   Case Name  ',
    '/C=DE/O=Uni Ünïcödé/CN=Jürgen Müller',
    '/O=Multi/CN=robot+UID=robot1',
    '/CN=UPPER lower\tTab/emailAddress=Someone@Example.ORG',
  ];
  subjects.forEach((subject, i) => {
    it(`matches openssl for ${JSON.stringify(subject)}`, () => {
      const key = join(dir, `k${i}.pem`);
      const crt = join(dir, `c${i}.pem`);
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-utf8', '-multivalue-rdn', '-subj', subject], { stdio: 'ignore' });
      const expected = execFileSync('openssl', ['x509', '-subject_hash', '-noout', '-in', crt]).toString().trim();
      const cert = new x509.X509Certificate(readFileSync(crt, 'utf8'));
      expect(opensslSubjectHash(cert.subjectName.toArrayBuffer())).to.equal(expected);
    });
  });
});
