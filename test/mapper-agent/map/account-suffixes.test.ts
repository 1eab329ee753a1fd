/**
 * Account suffixes made during the read (account-suffixes.ts): the same bytes as the format's one
 * writer (multimap-format.ts accountSuffix) for every account, across chunks; the same refusal, at
 * write time, for an account whose suffix cannot be written; -1, nothing written, when the line
 * buffer is too short.
 */
import { expect } from 'chai';
import { AccountSuffixes, type SuffixSource } from '../../../mapper-agent/map/account-suffixes.js';
import { accountSuffix } from '../../../mapper-agent/map/multimap-format.js';

interface Account { username: string; uid: number; gid: number; gids: number[] }

const sourceOf = (accounts: Account[]): SuffixSource => ({
  username: (i) => accounts[i]!.username,
  uidNumber: (i) => accounts[i]!.uid,
  gidNumber: (i) => accounts[i]!.gid,
  campaignGids: (i) => accounts[i]!.gids,
});

const written = (suffixes: AccountSuffixes, o: number, room = 4096) => {
  const out = Buffer.alloc(room);
  const end = suffixes.into(out, 3, o);
  return end < 0 ? end : out.toString('latin1', 3, end);
};

describe('mapper-agent/map/account-suffixes', () => {
  it('gives each account the bytes accountSuffix writes, over several 1 MiB chunks, prepared in any order and more than once', () => {
    // ~40k accounts of up to ~60 campaign gids: ~12 MB of suffixes.
    const accounts: Account[] = Array.from({ length: 40_000 }, (_, i) => ({
      username: `user${i}`, uid: 10_000 + i, gid: 110_000 + i, gids: Array.from({ length: i % 61 }, (_, k) => 30_000 + k * 7 + (k === 3 ? 80_000 + i : 0)).sort((a, b) => a - b),
    }));
    accounts[5]!.gids = [110_005, 30_001]; // the primary gid among the campaigns' is written once
    const suffixes = new AccountSuffixes(sourceOf(accounts));
    for (let i = accounts.length - 1; i >= 0; i -= 2) suffixes.prepare(i);
    for (let i = 0; i < accounts.length; i++) suffixes.prepare(i);
    suffixes.prepare(7);
    for (let i = 0; i < accounts.length; i++) {
      const a = accounts[i]!;
      expect(written(suffixes, i)).to.equal(accountSuffix(a.username, a.uid, a.gid, a.gids));
    }
  });

  it('an account never prepared is formatted at write time, the same bytes', () => {
    const accounts = [{ username: 'pat', uid: 10001, gid: 110001, gids: [30001, 30002] }];
    expect(written(new AccountSuffixes(sourceOf(accounts)), 0)).to.equal(' username:pat uid:10001 gid:110001,true gid:30001 gid:30002');
  });

  it('an account whose suffix cannot be written: prepare does not throw, the writer gets the format\'s own error', () => {
    const accounts = [{ username: 'ok', uid: 1, gid: 2, gids: [] }, { username: 'bad name', uid: 3, gid: 4, gids: [] }, { username: 'neg', uid: -1, gid: 4, gids: [] }];
    const suffixes = new AccountSuffixes(sourceOf(accounts));
    for (let i = 0; i < accounts.length; i++) suffixes.prepare(i);
    expect(written(suffixes, 0)).to.equal(' username:ok uid:1 gid:2,true');
    expect(() => written(suffixes, 1)).to.throw('username "bad name" is not a POSIX name');
    expect(() => written(suffixes, 2)).to.throw('not a POSIX id: -1');
  });

  it('answers -1 and writes nothing when the line buffer is too short', () => {
    const accounts = [{ username: 'pat', uid: 10001, gid: 110001, gids: [30001] }];
    const suffixes = new AccountSuffixes(sourceOf(accounts));
    suffixes.prepare(0);
    const length = accountSuffix('pat', 10001, 110001, [30001]).length;
    expect(written(suffixes, 0, 3 + length)).to.equal(accountSuffix('pat', 10001, 110001, [30001]));
    const out = Buffer.alloc(3 + length - 1, 0x2e);
    expect(suffixes.into(out, 3, 0)).to.equal(-1);
    expect(out.toString('latin1')).to.equal('.'.repeat(out.length));
  });
});
