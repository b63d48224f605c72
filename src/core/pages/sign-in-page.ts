import type { DevUser } from '../config/config.js';
import { escapeHtml } from './html.js';

export interface SignInPageModel {
  applicationName: string;
  externalOrigin: string;
  /** Where the form posts: the callback URL. */
  action: string;
  state: string;
  /** Where the user returns after signing in. */
  rd: string;
  users: readonly DevUser[];
  /** The user this browser is signed in as now, when it is: choosing another one switches. */
  signedInAs?: string | null;
  /** Where the users come from, for the footer: the config file, or null for the defaults. */
  configFile?: string | null;
  /** The dev panel's URL, linked from the footer. */
  panelUrl?: string;
}

/**
 * The dev sign-in page: one submit button per dev user in a plain form, so that it works without
 * JavaScript and from the keyboard (Tab to a user, Enter signs in). Every value shown comes from
 * the config or the request and is escaped.
 */
export function renderSignInPage(model: SignInPageModel): string {
  return `<div class="brand">outpost · dev sign-in</div>
<h1>Sign in to ${escapeHtml(model.applicationName)}</h1>
<p class="lead">At <code>${escapeHtml(model.externalOrigin)}</code>. Afterwards you return to
<code>${escapeHtml(model.rd)}</code>.</p>
${signedInNotice(model.signedInAs)}<form method="post" action="${escapeHtml(model.action)}">
<input type="hidden" name="state" value="${escapeHtml(model.state)}">
<fieldset>
<legend>Choose a dev user</legend>
${userList(model.users)}
</fieldset>
</form>
${footer(model)}`;
}

function signedInNotice(username: string | null | undefined): string {
  if (!username) return '';
  return `<p class="notice">You are signed in as <strong>${escapeHtml(username)}</strong>.
Choosing a user below ends that session and signs you in as the new one.</p>
`;
}

function userList(users: readonly DevUser[]): string {
  if (users.length === 0) {
    return `<p>There are no dev users. Add some under <code>users:</code> in the config file.</p>`;
  }
  return `<ul class="users">
${users.map(userButton).join('\n')}
</ul>`;
}

function userButton(user: DevUser): string {
  const chips = user.groups.length
    ? user.groups.map((group) => `<span class="chip">${escapeHtml(group)}</span>`).join('')
    : '<span class="chip">no groups</span>';
  const email = user.email ? `<span class="meta">${escapeHtml(user.email)}</span>` : '';
  return `<li><button type="submit" class="user" name="user" value="${escapeHtml(user.username)}">
<span class="avatar" aria-hidden="true">${escapeHtml(initials(user))}</span>
<span class="who"><span><strong>${escapeHtml(user.name || user.username)}</strong>
<span class="meta">${escapeHtml(user.username)}</span></span>
${email}<span class="chips">${chips}</span></span>
</button></li>`;
}

/** One or two letters for the avatar: the first letters of the name's first and last words. */
function initials(user: DevUser): string {
  const words = (user.name || user.username).trim().split(/\s+/).filter(Boolean);
  const letters = [words[0], words.length > 1 ? words.at(-1) : undefined]
    .map((word) => (word ? Array.from(word)[0] : ''))
    .join('');
  return letters.toUpperCase() || '?';
}

function footer(model: SignInPageModel): string {
  const source = model.configFile
    ? `<code>${escapeHtml(model.configFile)}</code>`
    : 'the defaults (there is no config file)';
  const panel = model.panelUrl ? ` · <a href="${escapeHtml(model.panelUrl)}">dev panel</a>` : '';
  return `<footer>
<p>These users come from ${source}; there is no password, as this page is for development only.
<code>/outpost.goauthentik.io/start?user=NAME</code> signs in directly${panel}.</p>
</footer>`;
}
