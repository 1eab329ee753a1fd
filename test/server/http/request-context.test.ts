import { expect } from 'chai';
import express, { type Request } from 'express';
import type { AddressInfo } from 'node:net';
import { LoginRequiredError } from '../../../core/errors.js';
import { before, handle, requireUser } from '../../../server/http/request-context.js';

describe('server/http/request-context', () => {
  it('requires a logged-in actor', () => {
    expect(requireUser({ actor: { username: 'pat', isAdmin: false, identity: 'x', ip: '' } } as Request)).to.equal('pat');
    expect(() => requireUser({ actor: { isAdmin: false, identity: 'x', ip: '' } } as Request)).to.throw(LoginRequiredError, /log in first/);
  });

  it('lets async handlers and middleware reach the error handler', async () => {
    const app = express();
    app.use(before(async (req) => {
      if (req.query.fail === 'before') throw new Error('middleware failed');
    }));
    app.get('/', handle(async (req, res) => {
      if (req.query.fail === 'handler') throw new Error('handler failed');
      res.send('ok');
    }));
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send(`caught: ${err.message}`));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/`)).text()).to.equal('ok');
      expect(await (await fetch(`${base}/?fail=handler`)).text()).to.equal('caught: handler failed');
      expect(await (await fetch(`${base}/?fail=before`)).text()).to.equal('caught: middleware failed');
    } finally {
      server.close();
    }
  });
});
