// Builds the batched-UDP addon (native/udp_batch.c) at install time. It is optional: without it (another
// OS, no compiler) the DNS server reads UDP through Node's dgram, slower but the same answers; the
// server logs which path it uses. Run by npm (install script), which puts node-gyp on the PATH.
import { spawnSync } from 'node:child_process';

if (process.platform !== 'linux') {
  console.log('vpsdns: batched UDP is Linux-only; the DNS server will use node:dgram');
  process.exit(0);
}
const r = spawnSync('node-gyp', ['rebuild', '--release'], { stdio: 'inherit', shell: false });
if (r.status !== 0) {
  console.warn('vpsdns: could not build native/udp_batch.c; the DNS server will use node:dgram (slower UDP)');
}
