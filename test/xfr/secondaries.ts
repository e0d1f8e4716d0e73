// Real secondaries for the interop tests: NSD (Debian `nsd`) and Knot (Debian `knot`) configured to
// pull a zone from vpsdns on loopback, each in its own temp dir (config, zone files, db, pid, sockets),
// started in the foreground and stopped by pid.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Secondary {
  name: 'nsd' | 'knot';
  port: number;
  log(): string;
  stop(): Promise<void>;
}

export interface SecondaryOptions {
  zone: string;
  port: number;
  primaryPort: number;
  /** TSIG key used for transfers and accepted on NOTIFY: name, algorithm, base64 secret. */
  key?: { name: string; algorithm: string; secret: string };
}

function binary(candidates: string[], pkg: string): string {
  for (const c of candidates) {
    try {
      execFileSync(c, ['-V'], { stdio: 'ignore' });
      return c;
    } catch (err) {
      // nsd -V is not an option but nsd -v is: any exit status means it exists.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return c;
    }
  }
  throw new Error(`${candidates[0]} is not installed: the interop test needs the Debian package "${pkg}"`);
}

function start(name: Secondary['name'], cmd: string, args: string[], dir: string, port: number): Secondary {
  let out = '';
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return {
    name,
    port,
    log: () => out,
    async stop() {
      if (child.pid && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function startNsd(o: SecondaryOptions): Secondary {
  const cmd = binary(['/usr/sbin/nsd', '/usr/bin/nsd'], 'nsd');
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-xfr-nsd-'));
  const keyName = o.key ? o.key.name : 'NOKEY';
  writeFileSync(
    join(dir, 'nsd.conf'),
    [
      'server:',
      `  ip-address: 127.0.0.1@${o.port}`,
      '  chroot: ""',
      '  username: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${dir}/nsd.pid"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  xfrdir: "${dir}"`,
      `  zonelistfile: "${dir}/zone.list"`,
      '  database: ""',
      '  server-count: 1',
      '  verbosity: 2',
      '  hide-version: yes',
      '  minimal-responses: yes',
      '  rrl-ratelimit: 0',
      '  ipv4-edns-size: 1232',
      '  do-ip6: no',
      // NSD applies a transfer after xfrd-reload-timeout (default 1 s); the README recommends 0 for speed.
      '  xfrd-reload-timeout: 0',
      'remote-control:',
      '  control-enable: no',
      ...(o.key
        ? ['key:', `  name: ${o.key.name}`, `  algorithm: ${o.key.algorithm}`, `  secret: "${o.key.secret}"`]
        : []),
      'zone:',
      `  name: ${o.zone}`,
      `  zonefile: "${o.zone}.zone"`,
      `  request-xfr: 127.0.0.1@${o.primaryPort} ${keyName}`,
      `  allow-notify: 127.0.0.1 ${keyName}`,
      '',
    ].join('\n'),
  );
  return start('nsd', cmd, ['-d', '-c', join(dir, 'nsd.conf')], dir, o.port);
}

export function startKnot(o: SecondaryOptions): Secondary {
  const cmd = binary(['/usr/sbin/knotd', '/usr/bin/knotd'], 'knot');
  const dir = mkdtempSync(join(tmpdir(), 'vpsdns-xfr-knot-'));
  const keyRef = o.key ? `    key: ${o.key.name}` : null;
  writeFileSync(
    join(dir, 'knot.conf'),
    [
      'server:',
      `    rundir: "${dir}"`,
      `    listen: 127.0.0.1@${o.port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'log:',
      '  - target: stderr',
      '    any: info',
      'database:',
      `    storage: "${dir}"`,
      'control:',
      `    listen: "${dir}/knot.sock"`,
      ...(o.key
        ? ['key:', `  - id: ${o.key.name}`, `    algorithm: ${o.key.algorithm}`, `    secret: ${o.key.secret}`]
        : []),
      'remote:',
      '  - id: primary',
      `    address: 127.0.0.1@${o.primaryPort}`,
      ...(keyRef ? [keyRef] : []),
      'acl:',
      '  - id: notify_from_primary',
      '    address: 127.0.0.1',
      '    action: notify',
      ...(keyRef ? [keyRef] : []),
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      'zone:',
      `  - domain: ${o.zone}`,
      '    master: primary',
      '    acl: notify_from_primary',
      '',
    ].join('\n'),
  );
  return start('knot', cmd, ['-c', join(dir, 'knot.conf')], dir, o.port);
}
