#!/usr/bin/env node
// Makes sure the Debian tools the test suite talks to are installed (run by `npm test` via pretest);
// with --bench, also those the benchmarks use (dnsperf, and PowerDNS as one more peer of bench:dns).
// As root it installs what is missing with apt-get; otherwise it fails at once naming the packages,
// so no test ever skips silently because a tool is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// command → Debian package that provides it
const TOOLS = {
  dig: 'bind9-dnsutils',
  'named-checkzone': 'bind9-utils',
  named: 'bind9',
  nsd: 'nsd',
  knotd: 'knot',
  curl: 'curl',
};
if (process.argv.includes('--bench')) {
  TOOLS.dnsperf = 'dnsperf';
  TOOLS.pdns_server = 'pdns-server pdns-backend-bind';
}
const SEARCH = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];

const found = (cmd) => SEARCH.some((dir) => existsSync(`${dir}/${cmd}`));
const missing = () => Object.entries(TOOLS).filter(([cmd]) => !found(cmd));

let absent = missing();
if (absent.length > 0) {
  const packages = [...new Set(absent.flatMap(([, pkg]) => pkg.split(' ')))];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `The tests need these Debian packages: ${packages.join(' ')}\nInstall them with: sudo apt-get install -y ${packages.join(' ')}`,
    );
    process.exit(1);
  }
  console.error(`installing ${packages.join(' ')} with apt-get …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  // Packages with daemons must not start them here (no init system in containers, and tests start their own).
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) spawnSync('sh', ['-c', `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod +x ${policy}`]);
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      stdio: 'inherit',
      env,
    });
  } finally {
    if (!hadPolicy) spawnSync('rm', ['-f', policy]);
  }
  absent = missing();
  if (absent.length > 0) {
    console.error(`still missing after apt-get: ${absent.map(([cmd, pkg]) => `${cmd} (${pkg})`).join(', ')}`);
    process.exit(1);
  }
}
