#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: the system packages the project runs and
# tests with, then the npm packages. Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# binary -> Debian package
declare -A packages=(
  [/usr/sbin/slapd]=slapd            # managed local directory for the demo and the tests
  [/usr/bin/ldapsearch]=ldap-utils   # ldapadd/ldapsearch: bootstrap and benchmark reference
  [/usr/bin/chromium]=chromium       # headless browser for the portal's end-to-end tests
  [/usr/bin/openssl]=openssl         # DN tests compare against openssl's own output
  [/usr/bin/cc]=gcc                  # benchmark reference programs in C
  [/usr/bin/time]=time               # peak RSS of benchmark runs
  [/usr/bin/systemd-analyze]=systemd # the shipped units are checked with systemd's own parser
  [/usr/bin/javac]=openjdk-17-jdk-headless         # grid-DN tests run the JDK's own X500Principal (test/support/jdk)
  [/usr/share/java/bcprov.jar]=libbcprov-java      # grid-DN tests run BouncyCastle's ASN.1 string classes
  [/usr/sbin/nslcd]=nslcd            # NSS on storage nodes: docs/nss.md is tested with a real nslcd
  [/usr/share/doc/libnss-ldapd]=libnss-ldapd  # ... and its NSS module (libnss_ldap.so.2)
  [/usr/share/doc/sssd-ldap]=sssd-ldap        # ... and with a real sssd (LDAP provider; pulls sssd-common)
  [/usr/sbin/sss_cache]=sssd-tools   # ... whose cache the test invalidates, as docs/nss.md tells operators
  [/usr/share/doc/libnss-sss]=libnss-sss      # ... and its NSS module (libnss_sss.so.2)
  # FITS reference corpus (test/core/fits/astropy.test.ts): astropy reads every file, and its
  # and sunpy's shipped test files are the corpus (keyed by those directories); fpack makes .fz copies
  [/usr/lib/python3/dist-packages/astropy/io/fits/tests/data]=python3-astropy
  [/usr/lib/python3/dist-packages/sunpy/data/test]=python3-sunpy
  [/usr/bin/fpack]=libcfitsio-bin
)
missing=()
for bin in "${!packages[@]}"; do
  [ -e "$bin" ] || missing+=("${packages[$bin]}")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: ready"
