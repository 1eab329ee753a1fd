/**
 * The audit trail's signing key: Ed25519, kept outside the database in a file readable by the
 * portal only (0600), created on first start, with its public key beside it (0644) for auditors.
 * Someone who can write the database but not read this file cannot forge a record.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { ConfigError } from '../../core/errors.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** the public key as SPKI PEM, as published to auditors */
  publicPem: string;
}

/** `<keyFile>` (PKCS#8 PEM, 0600) and `<keyFile>.pub` (SPKI PEM): loaded, or created when neither exists. */
export function loadOrCreateSigningKey(keyFile: string): SigningKey {
  if (!existsSync(keyFile)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeNew(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(keyFile));
  } catch (err) {
    throw new ConfigError(`${keyFile}: not a readable private key: ${(err as Error).message}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${keyFile}: the audit signing key must be Ed25519`);
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  if (!existsSync(`${keyFile}.pub`)) writeNew(`${keyFile}.pub`, publicPem, 0o644);
  return { privateKey, publicKey, publicPem };
}

/** Write a file whole or not at all (temp file, fsync, rename). */
export function writeNew(path: string, content: string, mode: number): void {
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}
