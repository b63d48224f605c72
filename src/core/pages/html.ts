/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const BASE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Headers for every page outpost itself serves: no framing (clickjacking on the sign-in page),
 * no scripts at all, and no caching of pages that show who is signed in.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': BASE_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The same headers for a page that loads outpost's own script files: still no inline script,
 * and nothing fetched from elsewhere. Pages that use it must work without the script too.
 */
export const SCRIPTED_PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...PAGE_HEADERS,
  'Content-Security-Policy': `${BASE_POLICY}; script-src 'self'; connect-src 'self'`,
};

// colours picked for at least 4.5:1 contrast of text on its background, in both schemes
const STYLE = `
  :root { color-scheme: light dark;
    --bg: #f6f7f9; --card: #ffffff; --text: #1f2328; --muted: #57606a; --line: #d0d7de;
    --chip: #eaeef2; --link: #0a5fc4; --focus: #0a5fc4; --accent: #fd4b2d;
    --good: #1a7f37; --bad: #b42318; }
  @media (prefers-color-scheme: dark) { :root {
    --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #9ba4ae; --line: #3d444d;
    --chip: #262c36; --link: #6cb6ff; --focus: #6cb6ff; --good: #4ac26b; --bad: #ff7b72; } }
  * { box-sizing: border-box; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
         background: var(--bg); color: var(--text); }
  main { width: min(46rem, 100% - 2rem); margin: 2.5rem auto; }
  .brand { display: flex; align-items: center; gap: .5rem; color: var(--muted);
           font-size: .9rem; margin-bottom: 1.25rem; }
  .brand::before { content: ""; width: .75rem; height: .75rem; border-radius: 3px;
                   background: var(--accent); }
  .brand nav { margin-left: auto; display: flex; gap: 1rem; }
  h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .35rem; }
  h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
  h2.spaced { margin-top: 1.25rem; }
  p { margin: 0 0 .75rem; }
  .lead, .muted { color: var(--muted); }
  .lead { margin-bottom: 1.5rem; }
  code, pre { font: 14px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
  code { overflow-wrap: anywhere; }
  pre { background: var(--chip); padding: .75rem; overflow-x: auto; border-radius: 6px; }
  a { color: var(--link); }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
          padding: 1.25rem; margin-bottom: 1rem; }
  .notice { border-left: 4px solid var(--link); background: var(--card); padding: .6rem .9rem;
            border-radius: 0 6px 6px 0; margin-bottom: 1.25rem; }
  .error { border-left: 4px solid var(--accent); padding-left: 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line);
           vertical-align: top; overflow-wrap: anywhere; }
  th { font-weight: 600; white-space: nowrap; }
  td code, th code { font-size: 13px; }
  button, .button { font: inherit; cursor: pointer; color: var(--text); background: var(--card);
           border: 1px solid var(--line); border-radius: 8px; padding: .45rem .9rem;
           text-decoration: none; display: inline-block; }
  button:hover, .button:hover { border-color: var(--muted); }
  .actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center;
             margin: 1rem 0 1.25rem; }
  .actions:last-child { margin-bottom: 0; }
  .button.primary { background: var(--link); border-color: var(--link); color: var(--bg); }
  .actions form { margin: 0; }
  .users { list-style: none; padding: 0; margin: 0; display: grid; gap: .6rem; }
  .user { width: 100%; display: flex; gap: .9rem; align-items: center; text-align: left;
          padding: .8rem 1rem; border-radius: 10px; }
  .user:hover { border-color: var(--link); }
  .avatar { flex: none; width: 2.5rem; height: 2.5rem; border-radius: 50%; display: grid;
            place-items: center; font-weight: 600; background: var(--chip); }
  .who { display: grid; gap: .1rem; min-width: 0; }
  .who .meta { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
  .chips { display: flex; flex-wrap: wrap; gap: .3rem; margin-top: .2rem; }
  .chip { background: var(--chip); border-radius: 999px; padding: 0 .55rem; font-size: .8rem; }
  fieldset { border: 0; padding: 0; margin: 0; }
  legend { font-weight: 600; margin-bottom: .6rem; padding: 0; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
  dt { color: var(--muted); }
  dd { margin: 0; overflow-wrap: anywhere; }
  label { font-weight: 600; display: block; margin-bottom: .35rem; }
  input[type=text] { font: 15px ui-monospace, SFMono-Regular, Menlo, monospace; width: 100%;
          padding: .45rem .6rem; border: 1px solid var(--muted); border-radius: 6px;
          background: var(--bg); color: var(--text); }
  .path-test { margin-top: 1rem; }
  .inline-form { display: flex; gap: .5rem; }
  .result { margin: .75rem 0 0; padding: .5rem .75rem; border-left: 4px solid var(--line);
            min-height: 2.5rem; }
  .result:empty { border-color: transparent; }
  .rules td:first-child, .rules th:first-child { width: 4rem; }
  .headers th:first-child { width: 15rem; }
  .result[data-verdict=public] { border-color: var(--good); }
  .result[data-verdict=protected], .result[data-verdict=refused] { border-color: var(--bad); }
  footer { color: var(--muted); font-size: .9rem; margin-top: 1.5rem; }
`;

export interface PageOptions {
  /** outpost's own script files to load (paths on this origin); the page must work without them. */
  scripts?: readonly string[];
}

/** A complete page: title, main content (already escaped HTML) and the shared style. */
export function renderPage(title: string, body: string, options: PageOptions = {}): string {
  const scripts = (options.scripts ?? [])
    .map((src) => `<script src="${escapeHtml(src)}" defer></script>\n`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
${scripts}</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
