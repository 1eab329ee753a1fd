import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createViewRenderer, VIEWS_DIR } from '../../server/views.js';

const hostile = `<script>alert(1)</script>"'&`;

describe('server/views', () => {
  const views = createViewRenderer();

  it('has the pages the portal serves', () => {
    expect(views.pages()).to.include.members(['home', 'register', 'account', 'campaigns', 'campaign', 'error', 'admin/index', 'admin/users', 'admin/campaigns', 'admin/requests', 'admin/audit']);
  });

  it('puts the CSRF token into every POST form of every page', () => {
    for (const page of views.pages()) {
      const source = readFileSync(join(VIEWS_DIR, `${page}.hbs`), 'utf8');
      const forms = source.match(/<form[^>]*method="post"[^>]*>[\s\S]*?<\/form>/g) ?? [];
      for (const form of forms) expect(form, `${page}: ${form.slice(0, 80)}`).to.include('{{> csrf}}');
    }
    const layout = readFileSync(join(VIEWS_DIR, 'layout.hbs'), 'utf8');
    expect(layout.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g)!.every((f) => f.includes('{{> csrf}}'))).to.equal(true);
  });

  it('renders the token value and escapes hostile data everywhere', () => {
    const html = views.render('campaign', {
      csrfToken: 'tok123',
      me: { username: hostile },
      campaign: { name: 'flare24', description: hostile, pi: hostile, gidNumber: 30001, state: 'open', isOpen: true },
      canSeeMembers: true, canManage: true, canRequest: true, isAdmin: true,
      members: [{ username: hostile, isPi: false }],
      requests: [{ id: 'r1', requester: hostile, justification: hostile, createdAt: 'now' }],
    });
    expect(html).to.not.include('<script>alert(1)</script>');
    expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
    const tokens = html.match(/name="_csrf" value="tok123"/g) ?? [];
    const posts = html.match(/method="post"/g) ?? [];
    expect(posts.length).to.be.greaterThan(5);
    expect(tokens.length).to.equal(posts.length);
  });

  it('shows helpful empty states', () => {
    const html = views.render('account', { csrfToken: 't', me: { username: 'a' }, person: { username: 'a', displayName: 'A' }, certificates: [], oidcIdentities: [], campaigns: [], providers: [] });
    expect(html).to.include('No certificate is bound to your account yet.');
    expect(html).to.include('You are not a member of any campaign yet.');
  });

  it('refuses an unknown page name', () => {
    expect(() => views.render('nope', {})).to.throw(/no view named nope/);
    expect(() => views.render('layout', {})).to.throw(/no view named layout/);
  });
});
