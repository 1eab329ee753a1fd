import { expect } from 'chai';
import type { Request, Response } from 'express';
import { flash, page } from '../../../server/http/render.js';

describe('server/http/render', () => {
  it('renders a view with me, the CSRF token and the flash messages, which it then clears', () => {
    const req = { session: {}, actor: { username: 'pat', isAdmin: true }, csrfToken: () => 'tok' } as unknown as Request;
    flash(req, 'saved');
    flash(req, 'careful', 'error');
    let rendered: { view: string; data: Record<string, unknown> } | undefined;
    const sent: { status?: number; type?: string; body?: string } = {};
    const res = {
      status(s: number) { sent.status = s; return this; },
      type(t: string) { sent.type = t; return this; },
      send(b: string) { sent.body = b; return this; },
    } as unknown as Response;
    const views = { render: (view: string, data: Record<string, unknown>) => ((rendered = { view, data }), `<p>${view}</p>`) };
    page({ views } as never, req, res, 'account', { title: 'T' }, 201);
    expect(sent).to.deep.equal({ status: 201, type: 'html', body: '<p>account</p>' });
    expect(rendered!.data).to.deep.equal({
      title: 'T', me: { username: 'pat', isAdmin: true }, csrfToken: 'tok',
      flash: [{ kind: 'info', text: 'saved' }, { kind: 'error', text: 'careful' }],
    });
    expect(req.session.flash).to.deep.equal([]);
    page({ views } as never, { actor: { isAdmin: false } } as unknown as Request, res, 'home');
    expect(rendered!.data).to.deep.include({ me: undefined, csrfToken: '', flash: [] });
  });
});
