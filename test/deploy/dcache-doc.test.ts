/**
 * The dCache configuration docs/dcache.md tells operators to use (the blocks marked
 * `<!-- dcache-test: ... -->`), checked against facts read from dCache's own source, commit
 * 77340d6671e92edc0f4a7142ba6be7cc752b08a1 of github.com/dCache/dcache (dCache cannot run here):
 *
 * - gplazma.conf, modules/gplazma2/.../configuration/parser/PAMStyleConfigurationParser.java: a line
 *   whose trimmed text starts with "#" is a comment; otherwise `trimmed.split("\\s+", 4)` gives
 *   <type> <control> <plugin> [arguments], at least three parts; arguments are key=value pairs
 *   (`arg.split("=", 2)`). Types, ConfigurationItemType.java: auth (GPlazmaAuthenticationPlugin),
 *   map (GPlazmaMappingPlugin), account (GPlazmaAccountPlugin), session (GPlazmaSessionPlugin),
 *   identity. Controls, ConfigurationItemControl.java: required, sufficient, requisite, optional.
 * - Plugins, each module's src/main/resources/META-INF/gplazma-plugins.xml <name> and the interface
 *   its <class> implements: x509 (gplazma2-grid, X509Plugin implements GPlazmaAuthenticationPlugin),
 *   oidc (gplazma2-oidc, OidcAuthPlugin: authentication), multimap (gplazma2-multimap,
 *   GplazmaMultiMapPlugin: mapping), banfile (gplazma2-banfile, BanFilePlugin: account),
 *   omnisession (gplazma2-omnisession, OmniSessionPlugin: session).
 * - Properties, skel/share/defaults/gplazma.properties: gplazma.multimap.file (line 141).
 * - omnisession.conf, modules/gplazma2-omnisession/.../ConfigurationParser.java: a line starting
 *   with "DEFAULT" gives the attributes after it, split on whitespace, each `type:argument`; "home",
 *   "root" and "path" arguments must start with "/"; known types include root and home.
 * - gplazma.oidc.provider!ALIAS = URL [-key=value...], gplazma.properties lines 387-486: "-profile
 *   ... Valid values are oidc, scitokens and wlcg"; "If the specified profile is "wlcg", then the
 *   -prefix argument is required"; PrefixProfileFactory.java: "Path in 'prefix' is not absolute:
 *   must start with '/'".
 * And the docs agree with what the agent writes: the multimap file named in gplazma.conf is the
 * deployed agent's `multimapPath` (deploy/agent.yaml).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { markedBlock } from '../support/doc-block.js';

const DOC = new URL('../../docs/dcache.md', import.meta.url);
const block = (name: string) => markedBlock(DOC, 'dcache-test', name);
const meaningful = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

const TYPES = new Set(['auth', 'map', 'account', 'session', 'identity']);
const CONTROLS = new Set(['required', 'sufficient', 'requisite', 'optional']);
/** plugin name -> the gplazma.conf type of the interface its class implements */
const PLUGINS: Record<string, string> = { x509: 'auth', oidc: 'auth', multimap: 'map', banfile: 'account', omnisession: 'session' };
const PROPERTIES = new Set(['gplazma.multimap.file']);
const OMNISESSION_PATH_TYPES = new Set(['home', 'root', 'path']);
const OMNISESSION_TYPES = new Set(['root', 'home', 'prefix', 'max-upload', 'role', 'read-only']);
const OIDC_PROFILES = new Set(['oidc', 'scitokens', 'wlcg']);

describe('docs/dcache.md: the dCache configuration we give operators, against dCache\'s source', () => {
  it('gplazma.conf: every line parses as dCache parses it, each plugin in the phase it implements, every argument a gPlazma property', () => {
    const lines = meaningful(block('gplazma-conf'));
    expect(lines.map((l) => l.split(/\s+/)[2])).to.deep.equal(['x509', 'oidc', 'multimap', 'banfile', 'omnisession']);
    for (const line of lines) {
      const parts = line.split(/\s+/);
      const [type, control, plugin, ...rest] = parts.length > 4 ? [...parts.slice(0, 3), parts.slice(3).join(' ')] : parts;
      expect(parts.length, line).to.be.at.least(3);
      expect(TYPES.has(type!), `${line}: type`).to.equal(true);
      expect(CONTROLS.has(control!), `${line}: control`).to.equal(true);
      expect(PLUGINS[plugin!], `${line}: plugin ${plugin} and its phase`).to.equal(type);
      for (const arg of rest.join(' ').split(/\s+/).filter(Boolean)) {
        const [key, value] = arg.split('=', 2);
        expect(PROPERTIES.has(key!), `${line}: ${key} is a gPlazma property`).to.equal(true);
        expect(value, `${line}: ${key} has a value`).to.match(/^\/\S+$/);
      }
    }
  });

  it('gplazma.conf\'s multimap file is the one the deployed agent writes', () => {
    const multimap = meaningful(block('gplazma-conf')).find((l) => l.split(/\s+/)[2] === 'multimap')!;
    const file = /gplazma\.multimap\.file=(\S+)/.exec(multimap)![1];
    expect(readFileSync(new URL('../../deploy/agent.yaml', import.meta.url), 'utf8')).to.match(new RegExp(`^\\s*multimapPath:\\s*${file!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'm'));
  });

  it('omnisession.conf: one DEFAULT line of type:argument attributes dCache knows, root and home absolute', () => {
    const lines = meaningful(block('omnisession-conf'));
    expect(lines).to.have.length(1);
    expect(lines[0]!.startsWith('DEFAULT')).to.equal(true);
    const attributes = lines[0]!.substring(8).split(/\s+/).filter(Boolean);
    expect(attributes.map((a) => a.slice(0, a.indexOf(':')))).to.have.members(['root', 'home']);
    for (const attr of attributes) {
      const at = attr.indexOf(':');
      expect(at, attr).to.be.greaterThan(0);
      const [type, arg] = [attr.slice(0, at), attr.slice(at + 1)];
      expect(OMNISESSION_TYPES.has(type), attr).to.equal(true);
      expect(arg.length, attr).to.be.greaterThan(0);
      if (OMNISESSION_PATH_TYPES.has(type)) expect(arg.startsWith('/'), attr).to.equal(true);
    }
  });

  it('the OIDC provider line: gplazma.oidc.provider!ALIAS = URL with the wlcg profile and an absolute prefix', () => {
    const [line, ...more] = meaningful(block('oidc-provider'));
    expect(more).to.deep.equal([]);
    const m = /^gplazma\.oidc\.provider!([A-Za-z0-9_-]+)\s*=\s*(https:\/\/\S+)((?:\s+-[a-z-]+=\S+)*)$/.exec(line!);
    expect(m, line).to.not.equal(null);
    const options = Object.fromEntries(m![3]!.trim().split(/\s+/).map((o) => o.slice(1).split('=', 2) as [string, string]));
    expect(OIDC_PROFILES.has(options.profile!)).to.equal(true);
    expect(options.profile).to.equal('wlcg'); // docs/dcache.md says why: not the default oidc profile
    expect(options.prefix, 'wlcg requires -prefix').to.match(/^\//);
  });
});
