/**
 * Runs the test-time Java counterparts (test/support/jdk/*.java) with every JDK installed here,
 * so tests compare our code with the JDK's and BouncyCastle's own, not with our own idea of them.
 * Java's single-file source launcher compiles the harness in memory (needs a JDK, not a JRE).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('./jdk/', import.meta.url));
/** Debian's libbcprov-java (see scripts/setup.sh). */
export const BCPROV_JAR = '/usr/share/java/bcprov.jar';

export interface Jdk {
  java: string;
  version: string;
}

/** Every JDK with a compiler: /usr/lib/jvm/* and the `java` on PATH. */
export function installedJdks(): Jdk[] {
  const candidates = new Set<string>();
  if (existsSync('/usr/lib/jvm')) {
    for (const d of readdirSync('/usr/lib/jvm')) {
      const java = join('/usr/lib/jvm', d, 'bin', 'java');
      if (existsSync(java) && existsSync(join('/usr/lib/jvm', d, 'bin', 'javac'))) candidates.add(java);
    }
  }
  const seen = new Map<string, Jdk>();
  for (const java of candidates) {
    const version = spawnSync(java, ['-XshowSettings:properties', '-version']).stderr?.toString().match(/java\.runtime\.version = (\S+)/)?.[1];
    if (version && !seen.has(version)) seen.set(version, { java, version });
  }
  return [...seen.values()];
}

/** Feed `lines` to a harness (one result line per input line). */
export function runHarness(jdk: Jdk, harness: 'DnHarness' | 'BcHarness', mode: string, lines: string[]): string[] {
  const args = harness === 'BcHarness' ? ['-cp', BCPROV_JAR] : [];
  const out = execFileSync(jdk.java, [...args, join(HERE, `${harness}.java`), mode], { input: lines.join('\n') + '\n', maxBuffer: 1 << 28 }).toString();
  return out.split('\n').slice(0, lines.length);
}

/** The harnesses' escaping: printable ASCII except backslash as is, every other UTF-16 unit as \uXXXX. */
export function javaEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f && c !== 0x5c ? s[i] : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}
