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
}

/**
 * The dev sign-in page: one button per dev user, a plain form that works without JavaScript and
 * from the keyboard. Every value shown comes from the config and is escaped.
 */
export function renderSignInPage(model: SignInPageModel): string {
  const users = model.users.map((user) => userButton(user)).join('\n');
  return `<h1>Sign in to ${escapeHtml(model.applicationName)}</h1>
<p class="lead">Dev users of <code>${escapeHtml(model.externalOrigin)}</code>. You return to
<code>${escapeHtml(model.rd)}</code>.</p>
<form method="post" action="${escapeHtml(model.action)}">
<input type="hidden" name="state" value="${escapeHtml(model.state)}">
<ul style="list-style:none;padding:0;margin:0;display:grid;gap:.5rem">
${users}
</ul>
</form>
<p class="lead" style="margin-top:1.5rem">Served by outpost: users come from the config file.</p>`;
}

function userButton(user: DevUser): string {
  const groups = user.groups.length > 0 ? user.groups.join(', ') : 'no groups';
  const details = [user.email, groups].filter(Boolean).map(escapeHtml).join(' · ');
  return `<li><button type="submit" name="user" value="${escapeHtml(user.username)}"
  style="width:100%;text-align:left;padding:.75rem 1rem;border:1px solid #9ca3af;border-radius:8px;background:transparent;color:inherit">
<strong>${escapeHtml(user.name)}</strong> <span>(${escapeHtml(user.username)})</span><br>
<small>${details}</small>
</button></li>`;
}
