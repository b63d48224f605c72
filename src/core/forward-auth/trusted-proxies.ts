import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** The compiled `trusted_proxies` list, and the entries that were not addresses. */
export interface TrustedProxies {
  /** Whether a connection from `address` may tell outpost the original URL. */
  trusts(address: string | undefined): boolean;
  /** Entries that are neither an IP address nor a CIDR range; they trust nobody. */
  readonly ignored: readonly string[];
}

/**
 * Compiles `trusted_proxies`: IP addresses (`127.0.0.1`, `::1`) and CIDR ranges (`10.0.0.0/8`,
 * `fd00::/8`). An IPv4 address seen as IPv4-mapped IPv6 (`::ffff:127.0.0.1`, as a dual-stack
 * socket reports it) is judged as the IPv4 address it is.
 */
export function compileTrustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  const ignored: string[] = [];
  for (const entry of entries) {
    if (!addEntry(list, entry.trim())) ignored.push(entry);
  }
  return {
    ignored,
    trusts(address) {
      if (!address) return false;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
      if (mapped) return list.check(mapped, 'ipv4') || list.check(address, 'ipv6');
      if (isIPv4(address)) return list.check(address, 'ipv4');
      return isIPv6(address) && list.check(address, 'ipv6');
    },
  };
}

function addEntry(list: BlockList, entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = familyOf(address);
  if (!family || rest.length > 0) return false;
  if (prefix === undefined) {
    list.addAddress(address, family);
    addMappedTwin(list, address, family, null);
    return true;
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  if (bits < 0 || bits > (family === 'ipv4' ? 32 : 128)) return false;
  list.addSubnet(address, bits, family);
  addMappedTwin(list, address, family, bits);
  return true;
}

/** `::ffff:a.b.c.d` written in the list also trusts `a.b.c.d`, the same peer. */
function addMappedTwin(
  list: BlockList,
  address: string,
  family: 'ipv4' | 'ipv6',
  bits: number | null,
): void {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (family !== 'ipv6' || !mapped) return;
  if (bits === null) list.addAddress(mapped, 'ipv4');
  else if (bits >= 96) list.addSubnet(mapped, bits - 96, 'ipv4');
}

function familyOf(address: string): 'ipv4' | 'ipv6' | null {
  if (isIPv4(address)) return 'ipv4';
  if (isIPv6(address)) return 'ipv6';
  return null;
}
