// Configuration of `vpsdns serve`: command-line flags > VPSDNS_* environment > defaults, validated with zod.
// Each option is declared once: the schema gives its type and default, HELP its text; the flag and
// environment variable are derived from its name.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { normalizeHostname } from './model/names.js';
import { parseAclEntry, parseNotifyTarget, parseTsigKey } from './xfr/config.js';

const port = z.coerce.number().int().min(0).max(65535);
const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

const hostnameList = z.string().transform((s, ctx) => {
  try {
    return list(s).map((n) => normalizeHostname(n, 'nameservers'));
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A comma list whose items `parse` turns into values (it throws with a message for a bad one). */
function parsedList<T>(parse: (item: string) => T) {
  return z.string().transform((s, ctx) => {
    try {
      return list(s).map(parse);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

export const configSchema = z
  .object({
    data: z.string().min(1).default('./data'),
    listen: z
      .string()
      .default('0.0.0.0,::')
      .transform(list)
      .refine((a) => a.length > 0 && a.every((x) => isIP(x) !== 0), 'must be a comma list of IP addresses'),
    apiPort: port.default(8080),
    dnsPort: port.default(53),
    nameservers: hostnameList
      .default(['ns1.vps.org', 'ns2.vps.org'])
      .refine((a) => a.length > 0, 'needs at least one name'),
    hostmaster: z
      .string()
      .default('hostmaster.vps.org')
      .transform((s, ctx) => {
        try {
          return normalizeHostname(s.replace('@', '.'), 'hostmaster');
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    minTtl: z.coerce.number().int().min(0).max(86400).default(60),
    soaTtl: z.coerce.number().int().min(0).max(2147483647).default(3600),
    soaRefresh: z.coerce.number().int().min(1).max(2147483647).default(10800),
    soaRetry: z.coerce.number().int().min(1).max(2147483647).default(3600),
    soaExpire: z.coerce.number().int().min(1).max(2147483647).default(1209600),
    soaMinimum: z.coerce.number().int().min(0).max(86400).default(300),
    ednsPayload: z.coerce.number().int().min(512).max(65535).default(1232),
    tcpIdleTimeout: z.coerce.number().int().min(100).max(600000).default(10000),
    tcpMaxConnections: z.coerce.number().int().min(1).max(100000).default(1000),
    tcpSessionTimeout: z.coerce.number().int().min(0).max(86_400_000).default(120_000),
    rrlRate: z.coerce.number().int().min(0).max(1_000_000).default(200),
    rrlSlip: z.coerce.number().int().min(0).max(100).default(2),
    queryLogSample: z.coerce.number().int().min(0).default(0),
    /** DNS worker processes sharing the DNS ports (0 = answer in the API process). */
    workers: z.coerce.number().int().min(0).max(256).default(availableParallelism()),
    dnsUdpBuffer: z.coerce
      .number()
      .int()
      .min(0)
      .max(1 << 30)
      .default(2 * 1024 * 1024),
    /** UDP through the batching addon (recvmmsg/sendmmsg), Node's dgram, or the addon when it was built. */
    dnsUdpIo: z.enum(['auto', 'batch', 'dgram']).default('auto'),
    dnsCacheEntries: z.coerce
      .number()
      .int()
      .min(2)
      .max(1 << 24)
      .default(32768),
    maxRecordsPerZone: z.coerce.number().int().min(0).default(0),
    maxZonesPerAccount: z.coerce.number().int().min(0).default(0),
    apiRateLimit: z.coerce.number().min(0).default(100),
    apiRateBurst: z.coerce.number().int().min(1).default(200),
    authFailLimit: z.coerce.number().int().min(0).default(30),
    metricsAuth: z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default('false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Directory of the generated BIND9 zone files; absent means `<data>/zones` (see zoneDirOf in src/zonefile). */
    zoneDir: z.string().min(1).optional(),
    onZoneChange: z.string().min(1).optional(),
    // Zone transfers (src/xfr): who may transfer, whom to NOTIFY, TSIG keys, journal pruning.
    xfrAllow: parsedList(parseAclEntry).default([]),
    notify: parsedList(parseNotifyTarget).default([]),
    notifyAllow: parsedList(parseAclEntry).default([]),
    notifyRetries: z.coerce.number().int().min(1).max(100).default(10),
    tsigKey: parsedList(parseTsigKey).default([]),
    tsigFudge: z.coerce.number().int().min(0).max(65535).default(300),
    journalMaxChanges: z.coerce.number().int().min(0).default(100000),
    journalMaxAge: z.coerce.number().int().min(0).default(1209600),
  })
  // Every key named by --xfr-allow, --notify-allow or --notify must be defined by --tsig-key.
  .superRefine((c, ctx) => {
    const keys = new Set(c.tsigKey.map((k) => k.name));
    for (const field of ['xfrAllow', 'notifyAllow', 'notify'] as const) {
      for (const entry of c[field]) {
        if (entry.key !== null && !keys.has(entry.key)) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `TSIG key "${entry.key}" is not defined by --tsig-key`,
          });
        }
      }
    }
  });

export type Config = z.infer<typeof configSchema>;
type Key = keyof z.input<typeof configSchema>;

export interface OptionSpec {
  key: Key;
  flag: string;
  env: string;
  help: string;
}

/** Help text per option; the flag and variable follow from the key (apiPort → --api-port, VPSDNS_API_PORT). */
const HELP: Record<Key, string> = {
  data: 'data directory (SQLite database, zone files)',
  listen: 'comma list of addresses for DNS and the API',
  apiPort: 'HTTP port of the management API',
  dnsPort: 'UDP and TCP port for DNS',
  nameservers: 'apex NS names of every zone',
  hostmaster: 'SOA RNAME (hostmaster.vps.org)',
  minTtl: 'smallest TTL the API accepts',
  soaTtl: 'TTL of the SOA and implicit NS records',
  soaRefresh: 'SOA refresh timer',
  soaRetry: 'SOA retry timer',
  soaExpire: 'SOA expire timer',
  soaMinimum: 'SOA minimum (negative caching TTL)',
  ednsPayload: 'EDNS0 UDP payload size advertised',
  tcpIdleTimeout: 'ms before an idle DNS TCP connection closes',
  tcpMaxConnections: 'concurrent DNS TCP connections (per worker)',
  tcpSessionTimeout: 'ms after which a DNS TCP connection is closed whatever it does (0 = never)',
  rrlRate: 'DNS response rate limit: UDP responses per second per client /24 (/56) and response (0 = off)',
  queryLogSample: 'log 1 DNS query in N (client, name, type, rcode) at info level (0 = no query log)',
  rrlSlip: 'every Nth rate-limited response is sent truncated (TC) instead of dropped (0 = drop all)',
  workers: 'DNS worker processes sharing the DNS ports (default: CPU count; 0 = DNS in the API process)',
  dnsUdpBuffer: 'UDP socket receive/send buffer in bytes (capped by net.core.rmem_max/wmem_max)',
  dnsUdpIo: 'UDP I/O: batch (native recvmmsg/sendmmsg, Linux), dgram (node:dgram), auto (batch when built)',
  dnsCacheEntries: 'precompiled answers cached per DNS process (rounded down to a power of two)',
  maxRecordsPerZone: 'record cap per zone (0 = none)',
  maxZonesPerAccount: 'zone cap per account (0 = none)',
  apiRateLimit: 'API requests per second per token (0 = no limit)',
  apiRateBurst: 'API requests a token may send at once',
  authFailLimit: 'failed API logins per minute per client address (0 = no limit)',
  metricsAuth: 'true: /metrics needs a valid API token',
  logLevel: 'fatal, error, warn, info, debug, trace or silent',
  zoneDir: 'directory of the generated BIND9 zone files (default <data>/zones)',
  onZoneChange: 'command run after a zone file is written; %z is the zone name (e.g. "rndc reload %z")',
  xfrAllow: 'who may AXFR/IXFR: comma list of addresses, CIDRs, TSIG key names, KEY@CIDR (default nobody)',
  notify: 'secondaries sent NOTIFY after every change: comma list of ADDR[:PORT][@KEY], [IPv6]:PORT[@KEY]',
  notifyAllow: 'who may send us NOTIFY (answered, nothing pulled): addresses, CIDRs, key names (default nobody)',
  notifyRetries: 'NOTIFY sends per change and secondary before giving up (back-off 1 s doubling to 60 s)',
  tsigKey: 'TSIG keys: comma list of name:algorithm:base64secret (hmac-sha256, -sha512, -sha1, -md5 ...)',
  tsigFudge: 'seconds of clock difference a TSIG signature may have (RFC 8945 fudge)',
  journalMaxChanges: 'IXFR journal: most changed records kept per zone (0 = no limit); older serials get AXFR',
  journalMaxAge: 'IXFR journal: seconds a change is kept (0 = forever)',
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const OPTIONS: OptionSpec[] = (Object.keys(HELP) as Key[]).map((key) => ({
  key,
  flag: `--${kebab(key)}`,
  env: `VPSDNS_${kebab(key).replaceAll('-', '_').toUpperCase()}`,
  help: HELP[key],
}));

export class ConfigError extends Error {}

/** Flags (`--x value` or `--x=value`) over environment over defaults. Throws ConfigError with one clear line. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Partial<Record<Key, string>> = {};
  for (const opt of OPTIONS) {
    const v = env[opt.env];
    if (v !== undefined && v !== '') raw[opt.key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const opt = OPTIONS.find((o) => o.flag === flag);
    if (!opt) throw new ConfigError(`unknown option ${flag} (see vpsdns serve --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    raw[opt.key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const opt = OPTIONS.find((o) => o.key === issue.path[0]);
    const given = opt ? raw[opt.key] : undefined;
    throw new ConfigError(
      `invalid ${opt ? `${opt.flag} / ${opt.env}` : String(issue.path[0])}${given !== undefined ? ` "${given}"` : ''}: ${issue.message}`,
    );
  }
  return parsed.data;
}

export function databasePath(dataDir: string): string {
  return join(dataDir, 'vpsdns.sqlite');
}

export function optionsHelp(): string {
  return OPTIONS.map((o) => `  ${`${o.flag} <v>`.padEnd(28)} ${o.help} [${o.env}]`).join('\n');
}
