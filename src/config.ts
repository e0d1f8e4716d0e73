// Configuration of `vpsdns serve`: command-line flags > VPSDNS_* environment > defaults, validated with zod.
// Each option is declared once in OPTIONS (flag, environment variable, help text); the schema gives
// its type and default.
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { normalizeHostname } from './model/names.js';

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

export const configSchema = z.object({
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
  maxRecordsPerZone: z.coerce.number().int().min(0).default(0),
  maxZonesPerAccount: z.coerce.number().int().min(0).default(0),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Directory of the generated BIND9 zone files; absent means `<data>/zones` (see zoneDirOf in src/zonefile). */
  zoneDir: z.string().min(1).optional(),
  onZoneChange: z.string().min(1).optional(),
});

export type Config = z.infer<typeof configSchema>;
type Key = keyof z.input<typeof configSchema>;

export interface OptionSpec {
  key: Key;
  flag: string;
  env: string;
  help: string;
}

export const OPTIONS: OptionSpec[] = [
  { key: 'data', flag: '--data', env: 'VPSDNS_DATA', help: 'data directory (SQLite database, zone files)' },
  { key: 'listen', flag: '--listen', env: 'VPSDNS_LISTEN', help: 'comma list of addresses for DNS and the API' },
  { key: 'apiPort', flag: '--api-port', env: 'VPSDNS_API_PORT', help: 'HTTP port of the management API' },
  { key: 'dnsPort', flag: '--dns-port', env: 'VPSDNS_DNS_PORT', help: 'UDP and TCP port for DNS' },
  { key: 'nameservers', flag: '--nameservers', env: 'VPSDNS_NAMESERVERS', help: 'apex NS names of every zone' },
  { key: 'hostmaster', flag: '--hostmaster', env: 'VPSDNS_HOSTMASTER', help: 'SOA RNAME (hostmaster.vps.org)' },
  { key: 'minTtl', flag: '--min-ttl', env: 'VPSDNS_MIN_TTL', help: 'smallest TTL the API accepts' },
  { key: 'soaTtl', flag: '--soa-ttl', env: 'VPSDNS_SOA_TTL', help: 'TTL of the SOA and implicit NS records' },
  { key: 'soaRefresh', flag: '--soa-refresh', env: 'VPSDNS_SOA_REFRESH', help: 'SOA refresh timer' },
  { key: 'soaRetry', flag: '--soa-retry', env: 'VPSDNS_SOA_RETRY', help: 'SOA retry timer' },
  { key: 'soaExpire', flag: '--soa-expire', env: 'VPSDNS_SOA_EXPIRE', help: 'SOA expire timer' },
  { key: 'soaMinimum', flag: '--soa-minimum', env: 'VPSDNS_SOA_MINIMUM', help: 'SOA minimum (negative caching TTL)' },
  { key: 'ednsPayload', flag: '--edns-payload', env: 'VPSDNS_EDNS_PAYLOAD', help: 'EDNS0 UDP payload size advertised' },
  {
    key: 'tcpIdleTimeout',
    flag: '--tcp-idle-timeout',
    env: 'VPSDNS_TCP_IDLE_TIMEOUT',
    help: 'ms before an idle DNS TCP connection closes',
  },
  {
    key: 'tcpMaxConnections',
    flag: '--tcp-max-connections',
    env: 'VPSDNS_TCP_MAX_CONNECTIONS',
    help: 'concurrent DNS TCP connections',
  },
  {
    key: 'maxRecordsPerZone',
    flag: '--max-records-per-zone',
    env: 'VPSDNS_MAX_RECORDS_PER_ZONE',
    help: 'record cap per zone (0 = none)',
  },
  {
    key: 'maxZonesPerAccount',
    flag: '--max-zones-per-account',
    env: 'VPSDNS_MAX_ZONES_PER_ACCOUNT',
    help: 'zone cap per account (0 = none)',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'VPSDNS_LOG_LEVEL',
    help: 'fatal, error, warn, info, debug, trace or silent',
  },
  { key: 'zoneDir', flag: '--zone-dir', env: 'VPSDNS_ZONE_DIR', help: 'BIND9 zone files directory (<data>/zones)' },
  {
    key: 'onZoneChange',
    flag: '--on-zone-change',
    env: 'VPSDNS_ON_ZONE_CHANGE',
    help: 'command run after a zone file changes, %z = zone (e.g. "rndc reload %z")',
  },
];

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
