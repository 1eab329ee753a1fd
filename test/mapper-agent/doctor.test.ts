import { expect } from 'chai';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLandingPrivacy, checkOidcProviders, checkSecretFile, lookupAccount, readableBy } from '../../mapper-agent/doctor.js';

describe('mapper-agent/doctor', () => {
  it('looks accounts up through id(1): uid and every group; an unknown name is undefined', () => {
    expect(lookupAccount('root')).to.deep.include({ uid: 0 });
    expect(lookupAccount('root')!.groups).to.include(0);
    expect(lookupAccount('no-such-user-cg-test')).to.equal(undefined);
  });

  it('tells whether the dCache user can read the map: file mode by owner/group/other, search on every directory above', function () {
    if (process.getuid?.() !== 0) this.skip();
    const dcache = { uid: 4321, groups: [4242] };
    const base = mkdtempSync(join(tmpdir(), 'cg-doctor-'));
    chmodSync(base, 0o755);
    mkdirSync(join(base, 'etc'), { mode: 0o755 });
    const map = join(base, 'etc', 'multi-mapfile');
    writeFileSync(map, '"dn:/CN=a" username:a uid:1 gid:1,true\n');
    chownSync(map, 0, 4242);
    chmodSync(map, 0o640);
    expect(readableBy(map, dcache)).to.deep.equal({ ok: true });
    chmodSync(map, 0o600); // what a umask of 077 used to leave behind
    expect(readableBy(map, dcache)).to.deep.equal({ ok: false, obstacle: `cannot read ${map}` });
    chmodSync(map, 0o644);
    chmodSync(join(base, 'etc'), 0o750); // root:root 0750: dcache cannot enter
    expect(readableBy(map, dcache)).to.deep.equal({ ok: false, obstacle: `cannot enter ${join(base, 'etc')}` });
    expect(readableBy(map, { uid: 0, groups: [0] })).to.deep.equal({ ok: true });
  });

  // dCache skel/share/defaults/gplazma.properties: "If no -profile is specified, then oidc is used";
  // OidcProfile adds EmailAddressPrincipal and FullNamePrincipal, which a dn: line matches (SimplePrincipal.equals).
  it("warns about OIDC providers on dCache's default profile and aliases gPlazma does not know", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-dcache-'));
    mkdirSync(join(dir, 'layouts'));
    writeFileSync(join(dir, 'dcache.conf'), 'gplazma.oidc.provider!iam = https://iam.example.org/\n');
    writeFileSync(join(dir, 'layouts', 'node.conf'), '[gPlazma]\ngplazma.oidc.provider!egi = https://aai.egi.eu/oidc/ -profile=wlcg \\\n   -prefix=/pnfs/example.org/public\n');
    const findings = checkOidcProviders([join(dir, 'dcache.conf'), join(dir, 'layouts')], ['iam', 'egi', 'keycloak']);
    const by = Object.fromEntries(findings.map((f) => [f.check, f]));
    expect(by["dCache's OIDC providers: iam"]).to.include({ ok: false });
    expect(by["dCache's OIDC providers: iam"]!.detail).to.match(/-profile=oidc .* adds the token's name and email/);
    expect(by["dCache's OIDC providers: egi"]).to.deep.include({ ok: true, detail: '-profile=wlcg' });
    expect(by["dCache's OIDC providers: keycloak"]!.detail).to.match(/no gplazma\.oidc\.provider!keycloak is configured/);
    expect(checkOidcProviders([join(dir, 'missing.conf')], [])[0]).to.include({ ok: true }).and.have.property('detail').that.matches(/not checked/);
  });

  it('warns about a data root the world may enter (new files readable before ingest) and a secret others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-landing-'));
    mkdirSync(join(dir, 'open'), { mode: 0o755 });
    chmodSync(join(dir, 'open'), 0o755);
    mkdirSync(join(dir, 'closed'));
    chmodSync(join(dir, 'closed'), 0o2750);
    const [open, closed] = checkLandingPrivacy([join(dir, 'open'), join(dir, 'closed')]);
    expect(open).to.include({ ok: false }).and.have.property('detail').that.matches(/mode 0755 lets anyone list and enter it/);
    expect(closed).to.include({ ok: true });
    writeFileSync(join(dir, 'ldap.secret'), 'pw');
    chmodSync(join(dir, 'ldap.secret'), 0o644);
    expect(checkSecretFile(join(dir, 'ldap.secret'))).to.include({ ok: false });
    chmodSync(join(dir, 'ldap.secret'), 0o600);
    expect(checkSecretFile(join(dir, 'ldap.secret'))).to.include({ ok: true });
  });
});
