import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

import { OutpostError, systemErrorCode } from '../errors.js';
import { httpUrl } from './value-types.js';

/** What `outpost init` knows about the project in the working directory. */
export interface ProjectGuess {
  /** package.json's name without its scope, else the directory's name. */
  name: string;
  /** The dev server's usual URL for the framework found in package.json, or null. */
  upstream: string | null;
  /** The framework that URL was guessed from, to say so. */
  framework: string | null;
}

/** Dev servers' default URLs, by the package that gives the framework away; first found wins. */
const DEV_SERVERS: readonly (readonly [string, string, string])[] = [
  ['next', 'Next.js', 'http://localhost:3000'],
  ['nuxt', 'Nuxt', 'http://localhost:3000'],
  ['astro', 'Astro', 'http://localhost:4321'],
  ['@angular/core', 'Angular', 'http://localhost:4200'],
  ['@remix-run/dev', 'Remix', 'http://localhost:5173'],
  ['@sveltejs/kit', 'SvelteKit', 'http://localhost:5173'],
  ['vite', 'Vite', 'http://localhost:5173'],
  ['react-scripts', 'Create React App', 'http://localhost:3000'],
  ['express', 'Express', 'http://localhost:3000'],
  ['fastify', 'Fastify', 'http://localhost:3000'],
];

/** The upstream to offer when nothing in the project suggests one. */
export const DEFAULT_UPSTREAM = 'http://localhost:3000';

/** Looks at `package.json` in `cwd` (if any) for the project's name and dev server. */
export function guessProject(cwd: string): ProjectGuess {
  const manifest = readManifest(cwd);
  const packageName = typeof manifest?.name === 'string' ? manifest.name : '';
  const name = packageName.replace(/^@[^/]+\//, '') || basename(cwd) || 'app';
  const dependencies = {
    ...(isRecord(manifest?.dependencies) ? manifest.dependencies : {}),
    ...(isRecord(manifest?.devDependencies) ? manifest.devDependencies : {}),
  };
  const found = DEV_SERVERS.find(([dependency]) => dependency in dependencies);
  return { name, upstream: found?.[2] ?? null, framework: found?.[1] ?? null };
}

function readManifest(cwd: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(`${cwd}/package.json`, 'utf8'));
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The upstream as the config will hold it, checked by the same rule `loadConfig` applies to
 * `internal_host`. Throws USAGE with that rule's words.
 */
export function checkUpstream(value: string): string {
  const parsed = httpUrl.parse(value.trim(), true);
  if (parsed.ok) return parsed.value;
  throw new OutpostError('USAGE', `the upstream ${JSON.stringify(value)} ${parsed.message}`, {
    hint: "give your app's URL, e.g. --upstream http://localhost:3000",
  });
}

/** A slug as authentik makes them: lower case letters, digits and dashes. */
export function slugOf(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'app';
}

/** A YAML scalar: plain when that is unambiguous, else double-quoted (JSON is valid YAML). */
function scalar(value: string): string {
  return /^[A-Za-z][\w./:-]*$/.test(value) && !/^(true|false|yes|no|on|off|null)$/i.test(value)
    ? value
    : JSON.stringify(value);
}

/**
 * The commented `outpost.yaml` that `outpost init` writes: a working file with two dev users, one
 * public path and every choice a newcomer meets explained where it is made.
 */
export function renderStarterConfig(options: { name: string; upstream: string }): string {
  const slug = slugOf(options.name);
  return `# outpost.yaml: authentik's proxy outpost on your laptop, for ${options.name}.
# \`outpost serve\` reads it, and so do \`outpost test-path\` and \`outpost headers\`; a running
# \`outpost serve\` picks up every save.
# Provider keys have the names authentik's API uses for a proxy provider, so values can be
# pasted from your authentik instance.

# The provider and application: your app gets them as X-Authentik-Meta-Provider and -App.
name: ${scalar(slug)}
assigned_application_slug: ${scalar(slug)}
assigned_application_name: ${scalar(options.name)}

# proxy: outpost stands in front of your app (the usual choice on a laptop).
# forward_single or forward_domain: nginx, Traefik, Caddy or Envoy ask outpost instead.
mode: proxy

# Your app: signed-in requests go here with the X-Authentik-* headers added.
internal_host: ${scalar(options.upstream)}

# The URL people type. Unset, each request's own address is used, so both
# http://localhost:9000 and https://localhost:9443 work. Set it to mirror production:
# external_host: https://localhost:9443

# Paths open without signing in: Go (RE2) regular expressions tried on the path, first match
# wins. Check one with \`outpost test-path /api/health\`.
skip_path_regex:
  - '^/api/health$'
  # - '^/static/'

# How long a sign-in lasts, in seconds.
access_token_validity: 86400

# Dev users, listed on the sign-in page (no passwords). Groups arrive joined with | in
# X-Authentik-Groups; attributes.additionalHeaders become extra headers.
users:
  - username: alice
    name: Alice Admin
    email: alice@example.com
    groups: [admins]
  - username: bob
    name: Bob User
    email: bob@example.com
    groups: [users]
    # attributes:
    #   additionalHeaders:
    #     X-Tenant: acme

# Groups: attributes are inherited from parents and merged into each member's.
groups:
  - name: users
  - name: admins
    parent: users
    attributes:
      additionalHeaders:
        X-Role: admin

# Sign in with a real OpenID Connect provider (authentik or another) instead of dev users:
# oidc:
#   issuer: https://auth.example.com/application/o/${slug}/
#   client_id: your-client-id
#   client_secret: your-client-secret
`;
}

/**
 * Writes the file, refusing to replace one that exists unless `force` (the check and the write
 * are one step, so a file made meanwhile is not overwritten either).
 */
export function writeStarterConfig(path: string, text: string, force: boolean): void {
  try {
    writeFileSync(path, text, { flag: force ? 'w' : 'wx', mode: 0o644 });
  } catch (cause) {
    if (systemErrorCode(cause) === 'EEXIST') throw configExists(path, cause);
    throw new OutpostError('CONFIG_UNWRITABLE', `cannot write ${path}`, {
      hint: 'check that its directory exists and that you may write there',
      cause,
    });
  }
}

/** The error for an existing file, also raised before asking anything. */
export function configExists(path: string, cause?: unknown): OutpostError {
  return new OutpostError('CONFIG_EXISTS', `${path} already exists; it was left as it is`, {
    hint: 'edit it, choose another file with --config, or replace it with --force',
    cause,
  });
}
