// The settings every zone's implicit SOA and apex NS records come from (a subset of Config): the DNS
// index, the zone files and the transfers all build the same SOA from them.
export interface SoaSettings {
  nameservers: string[];
  hostmaster: string;
  soaTtl: number;
  soaRefresh: number;
  soaRetry: number;
  soaExpire: number;
  soaMinimum: number;
}
