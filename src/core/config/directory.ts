import type { DevGroup, DevUser, ValueOrigin } from './config.js';
import { Problems, findUnsafeHeaderCharacter } from './problems.js';
import { isFramingHeader } from '../headers/identity-headers.js';
import { httpUrl } from './value-types.js';

/** Where each value of the file sits, so that a problem names its line. */
export type Locate = (path: string) => ValueOrigin;

/** The dev user a config without users gets: authentik's default admin. */
export const DEFAULT_USERS: readonly DevUser[] = [
  {
    username: 'akadmin',
    name: 'authentik Default Admin',
    email: 'root@localhost',
    groups: ['authentik Admins'],
    entitlements: [],
    attributes: {},
    is_superuser: true,
  },
];

export const DEFAULT_GROUPS: readonly DevGroup[] = [{ name: 'authentik Admins', attributes: {} }];

/**
 * Validates the `users` and `groups` sections. Groups named by users but not defined are created
 * without attributes, as a convenience; a group's parent must be defined and parents may not loop.
 */
export function readDirectory(
  rawUsers: unknown,
  rawGroups: unknown,
  locate: Locate,
  problems: Problems,
): { users: DevUser[]; groups: DevGroup[] } {
  const groups = rawGroups === undefined ? [] : readGroups(rawGroups, locate, problems);
  const users =
    rawUsers === undefined ? DEFAULT_USERS.map(cloneUser) : readUsers(rawUsers, locate, problems);
  if (rawUsers === undefined && rawGroups === undefined) groups.push(...DEFAULT_GROUPS);

  const known = new Set(groups.map((group) => group.name));
  for (const user of users) {
    for (const name of user.groups) {
      if (!known.has(name)) groups.push({ name, attributes: {} });
      known.add(name);
    }
  }
  checkParents(groups, locate, problems);
  return { users, groups };
}

function cloneUser(user: DevUser): DevUser {
  return structuredClone(user);
}

function readUsers(raw: unknown, locate: Locate, problems: Problems): DevUser[] {
  if (!Array.isArray(raw)) {
    problems.add(locate('users'), 'users', raw, 'is not a list: write a YAML list of users');
    return [];
  }
  const users: DevUser[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, index) => {
    const user = readUser(entry, `users[${index}]`, locate, problems);
    if (!user) return;
    if (seen.has(user.username)) {
      problems.add(
        locate(`users[${index}].username`),
        `users[${index}].username`,
        user.username,
        'is used twice: each username must be unique',
      );
    }
    seen.add(user.username);
    users.push(user);
  });
  if (raw.length === 0) {
    problems.add(
      locate('users'),
      'users',
      raw,
      'is empty: list at least one user, or remove the key',
    );
  }
  return users;
}

const USER_KEYS = [
  'username',
  'name',
  'email',
  'groups',
  'entitlements',
  'attributes',
  'uid',
  'backend_override',
  'host_header',
  'is_superuser',
];

function readUser(entry: unknown, path: string, locate: Locate, problems: Problems) {
  if (!isPlainObject(entry)) {
    problems.add(locate(path), path, entry, 'is not a user: write a map with at least `username`');
    return null;
  }
  const fields = new Fields(entry, path, locate, problems);
  fields.refuseUnknown(USER_KEYS);
  const username = fields.headerText('username', { required: true });
  // a bad username still lets the other fields be checked, so that every problem shows at once
  const user: DevUser = {
    username: username ?? '',
    name: fields.headerText('name') ?? username ?? '',
    email: fields.headerText('email') ?? '',
    groups: fields.headerTextList('groups'),
    entitlements: fields.headerTextList('entitlements'),
    attributes: readAttributes(entry.attributes, `${path}.attributes`, locate, problems),
    is_superuser: fields.boolean('is_superuser') ?? false,
  };
  const uid = fields.headerText('uid');
  if (uid !== undefined) user.uid = uid;
  const hostHeader = fields.headerText('host_header');
  if (hostHeader !== undefined) user.host_header = hostHeader;
  const backend = fields.url('backend_override');
  if (backend !== undefined) user.backend_override = backend;
  return username === undefined ? null : user;
}

function readGroups(raw: unknown, locate: Locate, problems: Problems): DevGroup[] {
  if (!Array.isArray(raw)) {
    problems.add(locate('groups'), 'groups', raw, 'is not a list: write a YAML list of groups');
    return [];
  }
  const groups: DevGroup[] = [];
  raw.forEach((entry, index) => {
    const path = `groups[${index}]`;
    if (!isPlainObject(entry)) {
      problems.add(locate(path), path, entry, 'is not a group: write a map with at least `name`');
      return;
    }
    const fields = new Fields(entry, path, locate, problems);
    fields.refuseUnknown(['name', 'parent', 'attributes']);
    const name = fields.headerText('name', { required: true });
    if (name === undefined) return;
    if (groups.some((group) => group.name === name)) {
      problems.add(locate(`${path}.name`), `${path}.name`, name, 'is used twice: names are unique');
    }
    const group: DevGroup = {
      name,
      attributes: readAttributes(entry.attributes, `${path}.attributes`, locate, problems),
    };
    const parent = fields.headerText('parent');
    if (parent !== undefined) group.parent = parent;
    groups.push(group);
  });
  return groups;
}

function checkParents(groups: DevGroup[], locate: Locate, problems: Problems): void {
  const byName = new Map(groups.map((group) => [group.name, group]));
  groups.forEach((group, index) => {
    if (group.parent === undefined) return;
    const path = `groups[${index}].parent`;
    if (!byName.has(group.parent)) {
      problems.add(
        locate(path),
        path,
        group.parent,
        'names no group: define that group under `groups`',
      );
      return;
    }
    const seen = new Set([group.name]);
    for (
      let at = byName.get(group.parent);
      at;
      at = at.parent ? byName.get(at.parent) : undefined
    ) {
      if (seen.has(at.name)) {
        problems.add(locate(path), path, group.parent, 'makes a loop of parents: break the cycle');
        return;
      }
      seen.add(at.name);
    }
  });
}

/**
 * Attributes are free-form, as in authentik, except `additionalHeaders`: its keys must be header
 * names and its values strings, numbers or booleans without control characters.
 */
function readAttributes(
  raw: unknown,
  path: string,
  locate: Locate,
  problems: Problems,
): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) {
    problems.add(locate(path), path, raw, 'is not a map: write attributes as key: value pairs');
    return {};
  }
  const extra = raw.additionalHeaders;
  if (extra !== undefined && extra !== null) {
    checkAdditionalHeaders(extra, `${path}.additionalHeaders`, locate, problems);
  }
  return raw;
}

const HEADER_NAME = /^[!#$%&'*+\-.^`|~0-9A-Za-z]+$/;

function checkAdditionalHeaders(raw: unknown, path: string, locate: Locate, problems: Problems) {
  if (!isPlainObject(raw)) {
    problems.add(locate(path), path, raw, 'is not a map: write header: value pairs');
    return;
  }
  for (const [name, value] of Object.entries(raw)) {
    const at = locate(`${path}.${name}`);
    if (!HEADER_NAME.test(name)) {
      problems.add(
        at,
        `${path}.${name}`,
        undefined,
        'is not a header name: use letters, digits, -',
      );
    } else if (isFramingHeader(name)) {
      const why =
        name.toLowerCase() === 'host' ? 'use host_header instead' : 'it frames the message';
      problems.add(at, `${path}.${name}`, undefined, `cannot be set by additionalHeaders: ${why}`);
    } else if (!['string', 'number', 'boolean'].includes(typeof value)) {
      problems.add(
        at,
        `${path}.${name}`,
        value,
        'cannot be a header value: use text, a number or a boolean',
      );
    } else {
      const unsafe = typeof value === 'string' ? findUnsafeHeaderCharacter(value) : null;
      if (unsafe) {
        problems.add(
          at,
          `${path}.${name}`,
          value,
          `contains ${unsafe}, which cannot be sent in a header`,
        );
      }
    }
  }
}

/** Reads typed fields of one map entry, reporting each problem with its line. */
class Fields {
  constructor(
    private readonly entry: Record<string, unknown>,
    private readonly path: string,
    private readonly locate: Locate,
    private readonly problems: Problems,
  ) {}

  refuseUnknown(known: string[]): void {
    for (const key of Object.keys(this.entry)) {
      if (!known.includes(key)) {
        const where = `${this.path}.${key}`;
        this.problems.add(
          this.locate(where),
          where,
          undefined,
          `is not a known key: use ${known.join(', ')}`,
        );
      }
    }
  }

  headerText(key: string, options: { required?: boolean } = {}): string | undefined {
    const value = this.entry[key];
    const where = `${this.path}.${key}`;
    if (value === undefined || value === null) {
      if (options.required)
        this.problems.add(this.locate(this.path), where, undefined, 'is missing');
      return undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      this.problems.add(this.locate(where), where, value, 'is not text: write a string');
      return undefined;
    }
    return this.checked(String(value), where, options.required === true);
  }

  headerTextList(key: string): string[] {
    const value = this.entry[key];
    const where = `${this.path}.${key}`;
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.problems.add(this.locate(where), where, value, 'is not a list: write [a, b]');
      return [];
    }
    return value.flatMap((item, index) => {
      const itemPath = `${where}[${index}]`;
      if (typeof item !== 'string' && typeof item !== 'number') {
        this.problems.add(this.locate(itemPath), itemPath, item, 'is not text: write a string');
        return [];
      }
      const checked = this.checked(String(item), itemPath, true);
      return checked === undefined ? [] : [checked];
    });
  }

  boolean(key: string): boolean | undefined {
    const value = this.entry[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    const where = `${this.path}.${key}`;
    this.problems.add(this.locate(where), where, value, 'is not a boolean: use true or false');
    return undefined;
  }

  url(key: string): string | undefined {
    const value = this.entry[key];
    if (value === undefined || value === null) return undefined;
    const parsed = httpUrl.parse(value, false);
    if (parsed.ok) return parsed.value;
    const where = `${this.path}.${key}`;
    this.problems.add(this.locate(where), where, value, parsed.message);
    return undefined;
  }

  private checked(value: string, where: string, nonEmpty: boolean): string | undefined {
    const unsafe = findUnsafeHeaderCharacter(value);
    if (unsafe) {
      this.problems.add(
        this.locate(where),
        where,
        value,
        `contains ${unsafe}, which cannot be sent in a header`,
      );
      return undefined;
    }
    if (nonEmpty && value.trim() === '') {
      this.problems.add(this.locate(where), where, value, 'is empty');
      return undefined;
    }
    return value;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
