import type { DevGroup, DevUser } from '../config/config.js';

/**
 * A user's effective attributes, merged as authentik does: every group of the user with all its
 * ancestors, ordered by group name, then the user's own; maps merge deeply and later wins.
 */
export function mergeUserAttributes(
  user: DevUser,
  groups: readonly DevGroup[],
): Record<string, unknown> {
  const byName = new Map(groups.map((group) => [group.name, group]));
  const involved = new Map<string, DevGroup>();
  for (const name of user.groups) {
    for (let group = byName.get(name); group && !involved.has(group.name);) {
      involved.set(group.name, group);
      group = group.parent === undefined ? undefined : byName.get(group.parent);
    }
  }
  const ordered = [...involved.values()].sort((a, b) => compareNames(a.name, b.name));
  let merged: Record<string, unknown> = {};
  for (const group of ordered) merged = deepMerge(merged, group.attributes);
  return deepMerge(merged, user.attributes);
}

/** Byte order, as a database sorts group names with a binary collation. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = Object.hasOwn(result, key) ? result[key] : undefined;
    const merged =
      isMap(current) && isMap(value) ? deepMerge(current, value) : structuredClone(value);
    // a key named __proto__ is data, as in authentik; assigning it would swap the prototype and
    // pass unvalidated additionalHeaders through it
    Object.defineProperty(result, key, {
      value: merged,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
