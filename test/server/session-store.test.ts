import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type session from 'express-session';
import { SqliteSessionStore } from '../../server/session-store.js';

const data = (expires: Date, extra: Record<string, unknown> = {}) => ({ cookie: { expires, originalMaxAge: 1000 }, ...extra }) as unknown as session.SessionData;

describe('server/session-store', () => {
  it('stores, reads, touches, expires, destroys and survives a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cg-sess-')), 's.sqlite');
    let store = new SqliteSessionStore(file);
    const get = (s: SqliteSessionStore, sid: string) => promisify(s.get.bind(s))(sid);
    await promisify(store.set.bind(store))('a', data(new Date(Date.now() + 60_000), { username: 'alice' }));
    await promisify(store.set.bind(store))('old', data(new Date(Date.now() - 1000)));
    expect(await get(store, 'a')).to.deep.include({ username: 'alice' });
    expect(await get(store, 'old')).to.equal(null);
    store.close();
    store = new SqliteSessionStore(file);
    expect(await get(store, 'a')).to.deep.include({ username: 'alice' });
    await promisify(store.touch.bind(store))('a', data(new Date(Date.now() - 1)));
    expect(await get(store, 'a')).to.equal(null);
    expect(store.prune()).to.equal(2);
    await promisify(store.set.bind(store))('b', data(new Date(Date.now() + 60_000)));
    await promisify(store.destroy.bind(store))('b');
    expect(await get(store, 'b')).to.equal(null);
    store.close();
  });
});
